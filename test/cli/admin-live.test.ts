/**
 * The admin commands end to end against a running service (README, Operating it): tenant
 * list|show|add|remove, idp test, invitations create|list|revoke, audit tail (and --follow, which
 * polls with the cursor and prints each new event once, never its own queries). Every command
 * group and subcommand answers --help with exit 0.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandNames, main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { ADMIN_TOKEN, startEnrollmentService } from '../helpers/enrollment.js';
import { freePort, TestClock, type TestService } from '../helpers/service.js';
import { run } from './run.js';

/** Real time: audit events carry the times the follow test compares. */
class LiveClock extends TestClock {
  override now = () => Date.now();
}

let svc: TestService;
let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  svc = await startEnrollmentService({ clock: new LiveClock() });
  dir = mkdtempSync(join(tmpdir(), 'fedbridge-admin-live-'));
  env = { FEDBRIDGE_SERVER: svc.url, FEDBRIDGE_ADMIN_TOKEN: ADMIN_TOKEN };
}, 60_000);
afterAll(async () => {
  await svc?.close();
  rmSync(dir, { recursive: true, force: true });
});

const admin = (...argv: string[]) => run(argv, { env });

describe('tenant', () => {
  it('add, list, show (no secrets), remove; then show is a 404, exit 1', async () => {
    const hash = hashPasswordSync('lab-password-123');
    const file = join(dir, 'lab.yaml');
    writeFileSync(
      file,
      'id: lab\ndisplayName: Lab\ndomains: [lab.test]\n' +
        `idp: { kind: local, users: [ { upn: ann@lab.test, name: Ann, passwordHash: "\${LAB_HASH}" } ] }\n`,
    );
    const added = await run(['tenant', 'add', file], { env: { ...env, LAB_HASH: hash } });
    expect(added.code, added.err).toBe(0);
    expect(JSON.parse(added.out)).toMatchObject({ id: 'lab', readOnly: false });
    expect(added.out).not.toContain(hash);

    const list = await admin('tenant', 'list');
    expect(list.code, list.err).toBe(0);
    const listed = JSON.parse(list.out) as { tenants: Array<{ id: string; readOnly: boolean }> };
    expect(listed.tenants.map((t) => [t.id, t.readOnly])).toEqual(expect.arrayContaining([['demo', true], ['lab', false]]));
    expect(list.out).not.toContain('scrypt$');

    const shown = await admin('tenant', 'show', 'lab');
    expect(shown.code, shown.err).toBe(0);
    expect(JSON.parse(shown.out)).toMatchObject({ id: 'lab', tenant: { displayName: 'Lab', domains: ['lab.test'] } });
    expect(shown.out).not.toContain('scrypt$');

    const test = await admin('idp', 'test', 'lab');
    expect(test).toEqual({ code: 0, out: 'ok    users: 1 user\n', err: '' });

    const removed = await admin('tenant', 'remove', 'lab');
    expect(removed).toEqual({ code: 0, out: 'removed tenant lab\n', err: '' });
    const gone = await admin('tenant', 'show', 'lab');
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/^fedbridge tenant show: GET \/admin\/api\/v1\/tenants\/\{id\}: 404 unknown_tenant/);
  });

  it('a config-file tenant cannot be removed through the API: exit 1 with the 409', async () => {
    const r = await admin('tenant', 'remove', 'demo');
    expect(r.code).toBe(1);
    expect(r.err).toContain('409 conflict');
  });
});

describe('idp test', () => {
  it('passes for the local tenant (exit 0) and fails for an unreachable IdP (exit 1, FAIL line)', async () => {
    expect(await admin('idp', 'test', 'demo')).toEqual({ code: 0, out: 'ok    users: 2 users\n', err: '' });
    const file = join(dir, 'dead.json');
    const issuer = `http://127.0.0.1:${await freePort()}/idp`;
    writeFileSync(file, JSON.stringify({ id: 'dead', displayName: 'Dead', domains: ['dead.test'], idp: { kind: 'oidc', issuer, clientId: 'c', clientSecret: 'client-secret-0123456789', timeoutMs: 3000 } }));
    expect((await admin('tenant', 'add', file)).code).toBe(0);
    try {
      const r = await admin('idp', 'test', 'dead');
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/^FAIL {2}discovery: GET http:\/\/127\.0\.0\.1:\d+\/idp\/\.well-known\/openid-configuration: connection failed \(ECONNREFUSED\)\n$/);
    } finally {
      await admin('tenant', 'remove', 'dead');
    }
  });
});

describe('invitations', () => {
  it('create, list (newest first, per tenant), revoke; revoking again is exit 1', async () => {
    const made = await admin('invitations', 'create', '--tenant', 'demo', '--user', 'bob@example.com');
    expect(made.code, made.err).toBe(0);
    const id = /^invitation (\S+) for/.exec(made.err)![1]!;
    const list = await admin('invitations', 'list', '--tenant', 'demo', '--limit', '5');
    expect(list.code, list.err).toBe(0);
    const invitations = (JSON.parse(list.out) as { invitations: Array<{ id: string; upn: string; state: string }> }).invitations;
    expect(invitations[0]).toMatchObject({ id, upn: 'bob@example.com', state: 'pending' });
    expect(list.out).not.toContain('accesstoken');

    expect(await admin('invitations', 'revoke', id)).toEqual({ code: 0, out: `revoked invitation ${id}\n`, err: '' });
    const after = JSON.parse((await admin('invitations', 'list')).out) as { invitations: Array<{ id: string }> };
    expect(after.invitations.map((i) => i.id)).not.toContain(id);
    const again = await admin('invitations', 'revoke', id);
    expect(again.code).toBe(1);
    expect(again.err).toContain('DELETE /admin/api/v1/invitations/{id}: 404 not_found');
  });
});

describe('audit tail', () => {
  it('prints the newest events, oldest first, filtered', async () => {
    for (const user of ['alice@example.com', 'bob@example.com']) {
      expect((await admin('invitations', 'create', '--tenant', 'demo', '--user', user)).code).toBe(0);
    }
    const r = await admin('audit', 'tail', '--limit', '2', '--type', 'invitation.created', '--tenant', 'demo');
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; subject: string; at: string });
    expect(lines.map((l) => [l.type, l.subject])).toEqual([
      ['invitation.created', 'alice@example.com'],
      ['invitation.created', 'bob@example.com'],
    ]);
    expect(Date.parse(lines[0]!.at)).toBeLessThanOrEqual(Date.parse(lines[1]!.at));
  });

  it('--follow prints each new event once, as it comes, and not its own queries; stops when interrupted', async () => {
    let out = '';
    let err = '';
    const abort = new AbortController();
    const io: CliIO & { signal: AbortSignal } = {
      stdout: (s) => void (out += s),
      stderr: (s) => void (err += s),
      stdin: Readable.from([]),
      env,
      signal: abort.signal,
    };
    expect((await admin('invitations', 'create', '--tenant', 'demo', '--user', 'bob@example.com')).code).toBe(0);
    // Those two events stored, and the clock past their millisecond: the call can return within
    // the millisecond its events were stamped with, which made them count as "after" the start.
    await svc.service.deps.audit.flush();
    await new Promise((r) => setTimeout(r, 5));
    const startedAt = Date.now();
    const created: string[] = [];
    const running = main(['audit', 'tail', '--follow', '--interval', '1', '--limit', '1'], io);
    const waitFor = async (pred: () => boolean) => {
      for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 100));
      expect(pred(), `output so far:\n${out}\n${err}`).toBe(true);
    };
    try {
      await waitFor(() => out.split('\n').length >= 2); // the newest event
      created.length = 0;
      for (const user of ['alice@example.com', 'bob@example.com', 'alice@example.com']) {
        const res = await fetch(`${svc.url}/admin/api/v1/invitations`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ tenant: 'demo', upn: user }),
        });
        expect(res.status).toBe(201);
        created.push(res.headers.get('x-request-id')!);
        await new Promise((r) => setTimeout(r, 300));
      }
      // Each call's admin event arrives once, in order, though it sits in many polls' windows.
      await waitFor(() => created.every((id) => out.includes(`"requestId":"${id}"`)));
      await new Promise((r) => setTimeout(r, 2500)); // more polls over the same window
    } finally {
      abort.abort();
    }
    expect(await running).toBe(0);
    const events = out.trim().split('\n').map((l) => JSON.parse(l) as { id: string; at: string; type: string; requestId: string | null });
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const adminCreates = events.filter((e) => e.type === 'admin.createInvitation').map((e) => e.requestId);
    expect(adminCreates.filter((id) => created.includes(id!))).toEqual(created);
    expect(events.filter((e) => e.type === 'invitation.created' && Date.parse(e.at) >= startedAt)).toHaveLength(3);
    // --limit 1: of the two events before the follow began, only the newest was printed.
    expect(events.filter((e) => Date.parse(e.at) < startedAt)).toHaveLength(1);
    // Printed oldest first.
    const times = events.map((e) => Date.parse(e.at));
    expect(times, out).toEqual([...times].sort((a, b) => a - b));
    // The tail's own GET /audit calls (one a second) are audited too, but not printed.
    expect(events.filter((e) => e.type === 'admin.queryAudit' && Date.parse(e.at) >= startedAt)).toEqual([]);
    expect(err).toBe('');
  }, 60_000);
});

describe('--help', () => {
  it('every command group and subcommand answers --help with exit 0', async () => {
    const names = commandNames();
    for (const group of ['tenant', 'idp', 'invitations', 'audit']) expect(names).toContain(group);
    for (const sub of ['tenant list', 'tenant show', 'tenant add', 'tenant remove', 'idp test', 'invitations list', 'invitations revoke', 'audit tail']) {
      expect(names).toContain(sub);
    }
    for (const name of names) {
      const r = await run([...name.split(' '), '--help']);
      expect(r.code, name).toBe(0);
      expect(r.out, name).toMatch(/^usage: fedbridge /);
    }
  });
});
