/**
 * The `fedbridge` command (README, Operating it), on commander: every command and subcommand answers
 * `--help`, an unknown option or command names the nearest valid one, exit codes returned.
 */
import { Command, CommanderError, Help } from 'commander';
import { ConfigError } from '../config/load.js';
import { serve } from '../service.js';
import { KeyRing, keyTiming, rotateKeys } from '../tokens/keys.js';
import { hashPasswordSync } from '../upstreams/local/password.js';
import { processIO, readAll, type CliIO } from './io.js';
import { loadCliConfig } from './config.js';
import { linkCmd } from './link.js';
import { simulateCmd } from './simulate/index.js';
import { tokenVerify } from './token.js';
import { addAdminCommands, CliFailure } from './admin.js';

/** Options shared by the commands that work on the configuration directly. */
const CONFIG_FLAG = ['--config <file>', 'the configuration file (default: FEDBRIDGE_CONFIG, else demo mode)'] as const;

type Exit = (code: number) => void;

function addLocalCommands(program: Command, io: CliIO, exit: Exit, argv: string[]): void {
  program
    .command('serve')
    .description('run the service (demo mode without a config)')
    .option(...CONFIG_FLAG)
    .action(async (o: { config?: string }) => {
      await serve(loadCliConfig(o, io));
      await new Promise<never>(() => {}); // runs until a signal ends the process
    });

  program
    .command('config')
    .description('check the configuration file: every problem and warning with its path')
    .command('check')
    .description('validate the configuration, list every problem and warning with its path (exit 1 on a problem)')
    .option(...CONFIG_FLAG)
    .action((o: { config?: string }) => {
      const cfg = loadCliConfig(o, io);
      // Warnings do not make the file invalid: exit 0, each on stderr with its path.
      for (const w of cfg.warnings) io.stderr(`warning: ${w}\n`);
      io.stdout(`ok: ${cfg.source ?? 'demo mode (no config file)'}: ${cfg.tenants.length} tenant(s), issuer ${cfg.server.publicUrl}\n`);
    });

  const keys = program.command('keys').description('show or rotate the signing keys in keys.dir (no downtime)');
  keys
    .command('list')
    .description('show every key and its state (creates the first key in an empty directory)')
    .option(...CONFIG_FLAG)
    .action(async (o: { config?: string }) => {
      const cfg = loadCliConfig(o, io);
      const now = Date.now();
      const ring = await KeyRing.open(cfg.keys.dir, cfg.keys.algorithm, keyTiming(cfg), now);
      for (const k of ring.list(now)) {
        const at = (t: number | null) => (t ? new Date(t).toISOString() : '-');
        io.stdout(`${k.kid}  ${k.alg}  ${k.state}  created ${at(k.createdAt)}  signs ${at(k.activateAt)}  retires ${at(k.retireAt)}\n`);
      }
    });
  keys
    .command('rotate')
    .description('publish a new key now; it signs after the JWKS max-age (no downtime)')
    .option(...CONFIG_FLAG)
    .action(async (o: { config?: string }) => {
      const cfg = loadCliConfig(o, io);
      const timing = keyTiming(cfg);
      const r = await rotateKeys(cfg.keys.dir, cfg.keys.algorithm, timing, Date.now());
      io.stdout(
        `new key ${r.kid} published now, signs from ${new Date(r.activateAt).toISOString()} (after the JWKS max-age of ${timing.jwksMaxAgeSeconds}s)\n` +
          (r.removed.length ? `removed expired keys: ${r.removed.join(', ')}\n` : '') +
          'a running service picks this up by itself (directory watch, or send it SIGHUP)\n',
      );
    });

  program
    .command('token')
    .description('verify a token, a BST value or a whole SOAP message')
    .command('verify')
    .description('verify a token, a BST value or a whole SOAP message; print its claims as JSON (exit 1 with the reason if invalid)')
    .argument('[token-or-file]', 'the token, a file holding it, or - for standard input', '-')
    .option(...CONFIG_FLAG)
    .option('--server <url>', "a running service: issuer and JWKS from its /.well-known/openid-configuration")
    .option('--jwks <url>', 'a JWKS URL (the issuer is the URL without /.well-known/jwks.json, or --issuer)')
    .option('--issuer <url>', 'the expected issuer (overrides the one found)')
    .option('--audience <aud>', "the expected audience (default: the tenant's, as the service decides)")
    .action(async (input: string, o) => exit(await tokenVerify(input, o, io)));

  program
    .command('user')
    .description('hash a local user\'s password (read on standard input)')
    .command('hash-password')
    .description('read a password on standard input (one trailing newline stripped), print only its hash')
    .action(async () => {
      if (io.stdin.isTTY) io.stderr('Password: ');
      const raw = await readAll(io.stdin);
      const password = raw.endsWith('\r\n') ? raw.slice(0, -2) : raw.endsWith('\n') ? raw.slice(0, -1) : raw;
      if (!password) {
        io.stderr('no password on standard input\n');
        return exit(1);
      }
      io.stdout(`${hashPasswordSync(password)}\n`);
    });

  const link = program
    .command('link')
    .description('store a single-use invitation in the configured store, print its ms-device-enrollment: deep link')
    .option(...CONFIG_FLAG)
    .option('--tenant <id>', 'the tenant (required)')
    .option('--user <upn>', "the user's UPN (required)")
    .option('--ownership <n>', 'device ownership: 1 unknown, 2 personal, 3 corporate')
    .option('--ttl <seconds>', 'lifetime of the invitation')
    .option('--servername <url>', 'the MDM discovery server (default: publicUrl when Fedbridge serves discovery)');
  link.action(async (o) => {
    if (!o.tenant || !o.user) {
      io.stderr(`--tenant and --user are required\n${link.helpInformation()}`);
      return exit(2);
    }
    exit(await linkCmd(o, io));
  });

  program
    .command('simulate')
    .description('play the Windows enrollment client against a server (discovery, auth window, GetPolicies, Enroll)')
    .option('--server <url>', 'the Fedbridge (or MDM discovery) base URL (required)')
    .option('--user <upn>', 'the user to enroll (required)')
    .option('--password <p>', 'answer a local/wstrust password page with it')
    .option('--http', 'plain HTTP with a cookie jar for the auth window')
    .option('--browser', 'headless chromium for the auth window (the default when installed)')
    .option('--headed', 'show the browser window')
    .option('--appru <a>', 'the appru the window opens with (default ms-app://windows.immersivecontrolpanel)')
    .option('--mdm', 'send GetPolicies and Enroll to the discovered MDM endpoints, not /introspect')
    .option('--timeout <ms>', 'deadline per step')
    // Options checked here for --help and suggestions; the simulator reads the same words itself.
    .action(async () => exit(await simulateCmd(argv.slice(argv.indexOf('simulate') + 1), io)));
}

function buildProgram(io: CliIO, exit: Exit, argv: string[], failed: { at?: Command }): Command {
  const program = new Command('fedbridge')
    .description('Federated sign-in for Windows MDM enrollment (MS-MDE2)')
    .usage('<command> [options]')
    .addHelpText('after', '\nThe config file may also be given as FEDBRIDGE_CONFIG; the admin commands take FEDBRIDGE_SERVER and FEDBRIDGE_ADMIN_TOKEN.\n"fedbridge <command> --help" shows the options of each command.');
  addLocalCommands(program, io, exit, argv);
  addAdminCommands(program, io, exit);
  configure(program, io, failed);
  return program;
}

/** Output, help layout and error wording for a command and all below it. */
function configure(cmd: Command, io: CliIO, failed: { at?: Command }): void {
  cmd
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureHelp({
      styleTitle: (s: string) => s.toLowerCase(),
      // A command group is shown with its subcommands: `keys list|rotate`.
      subcommandTerm(this: Help, sub: Command) {
        if (!sub.commands.length) return Help.prototype.subcommandTerm.call(this, sub);
        return `${sub.name()} ${sub.commands.map((c) => c.name()).join('|')}`;
      },
    })
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      getOutHelpWidth: () => 100,
      getErrHelpWidth: () => 100,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
      outputError: (s, write) => {
        failed.at = cmd;
        write(errorText(cmd, s));
      },
    });
  for (const sub of cmd.commands) configure(sub, io, failed);
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** commander's messages, said as Fedbridge says them: the command first, then what is wrong. */
function errorText(cmd: Command, s: string): string {
  const unknown = /^error: unknown command '([^']*)'(.*)$/s.exec(s);
  if (unknown) {
    const [, name, suggestion] = unknown;
    const hint = suggestion.trim() ? ` ${suggestion.trim()}` : '';
    if (!cmd.parent) return `fedbridge: unknown command ${name}${hint}\nsee fedbridge --help\n`;
    const subs = cmd.commands.map((c) => c.name()).join(', ');
    return `${commandPath(cmd)}: unknown ${cmd.name()} command ${name}${hint}\nthe ${cmd.name()} commands are ${subs} (see ${commandPath(cmd)} --help)\n`;
  }
  return `${s.replace(/^error: /, `${commandPath(cmd)}: `).replace(/\n(\(Did you mean [^)]*\))/, ' $1')}`;
}

/** Every command and subcommand, as typed after `fedbridge` (for the help tests and docs). */
export function commandNames(): string[] {
  const program = buildProgram(processIO, () => {}, [], {});
  const names: string[] = [];
  const walk = (cmd: Command, prefix: string[]) => {
    for (const sub of cmd.commands) {
      names.push([...prefix, sub.name()].join(' '));
      walk(sub, [...prefix, sub.name()]);
    }
  };
  walk(program, []);
  return names;
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  let code = 0;
  const failed: { at?: Command } = {};
  const program = buildProgram(io, (c) => void (code = c), argv, failed);
  let running: Command | undefined;
  program.hook('preAction', (_program, action) => void (running = action));
  if (argv.length === 0) {
    io.stdout(program.helpInformation());
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      // An unknown command is a usage error (2); commander's other refusals keep its exit code.
      if (err.code === 'commander.unknownCommand' && failed.at === program) return 2;
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      io.stderr(`${err.message}\n`);
      return 1;
    }
    const where = running ? commandPath(running) : `fedbridge ${argv[0]}`;
    if (err instanceof CliFailure) {
      io.stderr(`${where}: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr(`${where}: ${(err as Error).message}\n`);
    return 1;
  }
}
