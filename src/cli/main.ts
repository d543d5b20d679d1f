/** The `fedbridge` command: one function per subcommand, exit codes returned. */
import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../config/load.js';
import { serve } from '../service.js';
import { KeyRing, keyTiming, rotateKeys } from '../tokens/keys.js';
import { hashPasswordSync } from '../upstreams/local/password.js';
import { checkEnrollmentInput } from '../verify/check.js';
import { audienceResolver } from '../http/deps.js';
import { processIO, readAll, type CliIO } from './io.js';
import { loadCliConfig } from './config.js';
import { linkCmd } from './link.js';
import { simulateCmd } from './simulate/index.js';

const USAGE = `usage: fedbridge <command>
  serve [--config FILE]                       run the service (demo mode without a config)
  config check [--config FILE]                validate the configuration, list every problem and warning
  keys list|rotate [--config FILE]            show or rotate signing keys (no downtime)
  token verify [--config FILE] [--jwks URL [--issuer URL]] [--audience AUD] TOKEN_OR_FILE
                                              verify a token, a BST value or a SOAP message
  user hash-password                          read a password on stdin, print its hash
  link [--config FILE] --tenant ID --user UPN [--ownership 1|2|3] [--ttl SECONDS] [--servername URL]
                                              store a single-use invitation, print its deep link
  simulate --server URL --user UPN [--password P] [--http|--browser [--headed]] [--appru A] [--mdm]
                                              play the Windows enrollment client against a server
The config file may also be given as FEDBRIDGE_CONFIG.`;

type Cmd = (args: string[], io: CliIO) => Promise<number>;

const serveCmd: Cmd = async (args, io) => {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } } });
  await serve(loadCliConfig(values, io));
  return new Promise<number>(() => {}); // runs until a signal ends the process
};

const configCheck: Cmd = async (args, io) => {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } } });
  const cfg = loadCliConfig(values, io);
  // Warnings do not make the file invalid: exit 0, each on stderr with its path.
  for (const w of cfg.warnings) io.stderr(`warning: ${w}\n`);
  io.stdout(`ok: ${cfg.source ?? 'demo mode (no config file)'}: ${cfg.tenants.length} tenant(s), issuer ${cfg.server.publicUrl}\n`);
  return 0;
};

const keysCmd: Cmd = async (args, io) => {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { config: { type: 'string' } } });
  const cfg = loadCliConfig(values, io);
  const timing = keyTiming(cfg);
  const now = Date.now();
  if (positionals[0] === 'rotate') {
    const r = await rotateKeys(cfg.keys.dir, cfg.keys.algorithm, timing, now);
    io.stdout(
      `new key ${r.kid} published now, signs from ${new Date(r.activateAt).toISOString()} (after the JWKS max-age of ${timing.jwksMaxAgeSeconds}s)\n` +
        (r.removed.length ? `removed expired keys: ${r.removed.join(', ')}\n` : '') +
        'a running service picks this up by itself (directory watch, or send it SIGHUP)\n',
    );
    return 0;
  }
  if (positionals[0] !== 'list' && positionals[0] !== undefined) throw new Error(`unknown keys command ${positionals[0]}`);
  const ring = await KeyRing.open(cfg.keys.dir, cfg.keys.algorithm, timing, now);
  for (const k of ring.list(now)) {
    const at = (t: number | null) => (t ? new Date(t).toISOString() : '-');
    io.stdout(`${k.kid}  ${k.alg}  ${k.state}  created ${at(k.createdAt)}  signs ${at(k.activateAt)}  retires ${at(k.retireAt)}\n`);
  }
  return 0;
};

async function readTokenArg(arg: string | undefined, io: CliIO): Promise<string> {
  if (!arg || arg === '-') return readAll(io.stdin);
  if (arg.length < 4096 && existsSync(arg)) return readFileSync(arg, 'utf8');
  return arg;
}

/**
 * Fetches the JWKS once, up front: an unreachable or broken JWKS is reported as such,
 * not as a fault of the token (jose's remote set would surface it as "malformed").
 */
async function fetchJwks(url: string): Promise<JWTVerifyGetKey> {
  const fail = (why: string) => new Error(`cannot use the JWKS at ${url}: ${why}`);
  let res: Response;
  try {
    res = await fetch(new URL(url), { signal: AbortSignal.timeout(10_000), headers: { accept: 'application/json' } });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw fail(cause?.code ?? cause?.message ?? (err as Error).message);
  }
  if (!res.ok) throw fail(`HTTP ${res.status}`);
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw fail('not JSON');
  }
  try {
    return createLocalJWKSet(body as JSONWebKeySet);
  } catch {
    throw fail('not a JWK set');
  }
}

const tokenVerify: Cmd = async (args, io) => {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string' }, jwks: { type: 'string' }, audience: { type: 'string' }, issuer: { type: 'string' } },
  });
  if (positionals[0] !== 'verify') throw new Error('usage: fedbridge token verify [--config FILE] [--jwks URL] [--audience AUD] TOKEN_OR_FILE');
  const input = await readTokenArg(positionals[1], io);
  const now = Date.now();
  let keys;
  let issuer: string;
  let audienceFor: ((tid: string) => string | null) | undefined;
  // With the service's config, a token may live no longer than it mints them (as at /introspect).
  let maxLifetimeSeconds: number | undefined;
  if (values.jwks) {
    keys = await fetchJwks(values.jwks);
    issuer = values.issuer ?? values.jwks.replace(/\/\.well-known\/jwks\.json$/, '');
  } else {
    const cfg = loadCliConfig(values, io);
    const ring = await KeyRing.open(cfg.keys.dir, cfg.keys.algorithm, keyTiming(cfg), now);
    keys = ring.verifier(now);
    issuer = values.issuer ?? cfg.server.publicUrl;
    maxLifetimeSeconds = cfg.tokens.ttlSeconds;
    if (!values.audience) {
      audienceFor = audienceResolver(cfg);
    }
  }
  const r = await checkEnrollmentInput(input, { keys, issuer, now, audienceFor, audience: values.audience, consume: false, maxLifetimeSeconds });
  if (!r.active) {
    io.stderr(`invalid: ${r.error}: ${r.description}\n`);
    return 1;
  }
  io.stdout(`${JSON.stringify({ ...r.claims, message: r.message, deviceId: r.deviceId, replay: 'unchecked' }, null, 2)}\n`);
  return 0;
};

const userCmd: Cmd = async (args, io) => {
  if (args[0] !== 'hash-password') throw new Error('usage: fedbridge user hash-password  (reads the password on stdin)');
  if (io.stdin.isTTY) io.stderr('Password: ');
  const raw = await readAll(io.stdin);
  const password = raw.endsWith('\r\n') ? raw.slice(0, -2) : raw.endsWith('\n') ? raw.slice(0, -1) : raw;
  if (!password) {
    io.stderr('no password on standard input\n');
    return 1;
  }
  io.stdout(`${hashPasswordSync(password)}\n`);
  return 0;
};

const commands: Record<string, Cmd> = {
  serve: serveCmd,
  config: async (args, io) => {
    if (args[0] !== 'check') throw new Error('usage: fedbridge config check [--config FILE]');
    return configCheck(args.slice(1), io);
  },
  keys: keysCmd,
  token: tokenVerify,
  user: userCmd,
  link: linkCmd,
  simulate: simulateCmd,
};

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    io.stderr(`unknown command ${name}\n${USAGE}\n`);
    return 2;
  }
  try {
    return await cmd(rest, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`${err.message}\n`);
      return 1;
    }
    io.stderr(`fedbridge ${name}: ${(err as Error).message}\n`);
    return 1;
  }
}
