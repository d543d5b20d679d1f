/**
 * The CLI's argument handling (issue #10): every command and subcommand answers --help with its
 * usage and exit 0; an unknown option or command names the nearest valid one.
 */
import { describe, expect, it } from 'vitest';
import { commandNames } from '../../src/cli/main.js';
import { run } from './run.js';

const names = commandNames();

describe('--help everywhere', () => {
  it('the command tree has the README commands and the admin commands of issue #10', () => {
    for (const name of [
      'serve',
      'config check',
      'keys list',
      'keys rotate',
      'token verify',
      'user hash-password',
      'link',
      'simulate',
      'tenant list',
      'tenant show',
      'tenant add',
      'tenant remove',
      'idp test',
      'invitations create',
      'invitations list',
      'invitations revoke',
      'audit tail',
    ]) {
      expect(names).toContain(name);
    }
  });

  it.each(names)('fedbridge %s --help → its usage on stdout, exit 0', async (name) => {
    const r = await run([...name.split(' '), '--help']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^usage: fedbridge ${name} `));
    // Every option of the command is described.
    expect(r.out).toContain('-h, --help');
  });

  it('fedbridge help <command> is the same text as <command> --help', async () => {
    expect((await run(['help', 'link'])).out).toBe((await run(['link', '--help'])).out);
  });

  it('the top-level help names each group with its subcommands', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const line of ['keys list|rotate', 'tenant list|show|add|remove', 'invitations create|list|revoke', 'idp test', 'audit tail']) {
      expect(r.out).toContain(line);
    }
  });

  it('leaf options are listed in their help: token verify --server, link --tenant, simulate --mdm', async () => {
    expect((await run(['token', 'verify', '--help'])).out).toMatch(/--server <url>/);
    expect((await run(['link', '--help'])).out).toMatch(/--tenant <id>/);
    expect((await run(['simulate', '--help'])).out).toMatch(/--mdm/);
    expect((await run(['tenant', 'list', '--help'])).out).toMatch(/--token <token>/);
  });
});

describe('mistakes name the nearest valid word', () => {
  it.each([
    [['kes', 'list'], 2, 'fedbridge: unknown command kes (Did you mean keys?)'],
    [['keys', 'rotat'], 1, 'fedbridge keys: unknown keys command rotat (Did you mean rotate?)'],
    [['token', 'verfy', 'x'], 1, 'unknown token command verfy (Did you mean verify?)'],
    [['invitations', 'revok', 'x'], 1, 'unknown invitations command revok (Did you mean revoke?)'],
    [['config', 'check', '--confg', 'x.yaml'], 1, "fedbridge config check: unknown option '--confg' (Did you mean --config?)"],
    [['simulate', '--sever', 'http://127.0.0.1:1'], 1, "fedbridge simulate: unknown option '--sever' (Did you mean --server?)"],
    [['tenant', 'list', '--tokn', 't'], 1, "(Did you mean --token?)"],
  ])('%j → exit %i, %s', async (argv, code, message) => {
    const r = await run(argv);
    expect(r.code).toBe(code);
    expect(r.out).toBe('');
    expect(r.err).toContain(message);
    expect(r.err).not.toMatch(/^\s+at /m);
  });

  it('a group without its subcommand prints the group usage on stderr, exit 1', async () => {
    const r = await run(['token']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^usage: fedbridge token /);
    expect(r.err).toContain('verify');
  });

  it('a missing argument is named', async () => {
    const r = await run(['tenant', 'show', '--server', 'http://127.0.0.1:1', '--token', 'x'.repeat(20)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("missing required argument 'id'");
  });
});
