/**
 * `fedbridge token verify` (README, Operating it): the keys and issuer come from the configuration (as the
 * service finds them, demo mode included), from a running service (`--server`, its
 * openid-configuration) or from a JWKS URL. It only reads keys: it never creates a key directory.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { KeyRing, keyTiming } from '../tokens/keys.js';
import { checkExtracted } from '../verify/check.js';
import { extractToken } from '../verify/extract.js';
import { audienceResolver } from '../http/deps.js';
import { readAll, type CliIO } from './io.js';
import { loadCliConfig } from './config.js';
import { printable } from './admin.js';

export interface TokenVerifyOptions {
  config?: string;
  server?: string;
  jwks?: string;
  issuer?: string;
  audience?: string;
}

async function readTokenArg(arg: string | undefined, io: CliIO): Promise<string> {
  if (!arg || arg === '-') return readAll(io.stdin);
  if (arg.length < 4096 && existsSync(arg)) return readFileSync(arg, 'utf8');
  return arg;
}

/** GET a JSON document; an unreachable or broken answer is reported as such, not as a fault of the token. */
async function getJson(url: string, what: string): Promise<unknown> {
  const fail = (why: string) => new Error(`cannot use the ${what} at ${url}: ${why}`);
  let res: Response;
  try {
    res = await fetch(new URL(url), { signal: AbortSignal.timeout(10_000), headers: { accept: 'application/json' } });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw fail(cause?.code ?? cause?.message ?? (err as Error).message);
  }
  if (!res.ok) throw fail(`HTTP ${res.status}`);
  try {
    return await res.json();
  } catch {
    throw fail('not JSON');
  }
}

/** Fetches the JWKS once, up front (jose's remote set would surface a broken one as "malformed"). */
async function fetchJwks(url: string): Promise<JWTVerifyGetKey> {
  const body = await getJson(url, 'JWKS');
  try {
    return createLocalJWKSet(body as JSONWebKeySet);
  } catch {
    throw new Error(`cannot use the JWKS at ${url}: not a JWK set`);
  }
}

/** Issuer and keys of a running service, from its openid-configuration (docs/enrollment-server.md). */
async function fromServer(server: string): Promise<{ issuer: string; keys: JWTVerifyGetKey }> {
  const base = server.replace(/\/+$/, '');
  const url = `${base}/.well-known/openid-configuration`;
  const doc = (await getJson(url, 'openid-configuration')) as { issuer?: unknown; jwks_uri?: unknown } | null;
  if (typeof doc?.issuer !== 'string' || typeof doc.jwks_uri !== 'string' || !/^https?:\/\//.test(doc.jwks_uri)) {
    throw new Error(`cannot use the openid-configuration at ${url}: no issuer and jwks_uri`);
  }
  return { issuer: doc.issuer, keys: await fetchJwks(doc.jwks_uri) };
}

/** The key directory's keys, read only: an empty or missing directory is an error here, not a new key. */
function hasKeys(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.json') && !f.startsWith('.'));
}

export async function tokenVerify(arg: string | undefined, values: TokenVerifyOptions, io: CliIO): Promise<number> {
  const sources = [values.config, values.server, values.jwks].filter((v) => v !== undefined).length;
  if (sources > 1) throw new Error('give one of --config, --server and --jwks');
  const input = await readTokenArg(arg, io);
  const now = Date.now();
  let keys: JWTVerifyGetKey;
  let issuer: string;
  let audienceFor: ((tid: string) => string | null) | undefined;
  // With the service's config, a token may live no longer than it mints them (as at /introspect).
  let maxLifetimeSeconds: number | undefined;
  if (values.server) {
    ({ issuer, keys } = await fromServer(values.server));
    issuer = values.issuer ?? issuer;
  } else if (values.jwks) {
    keys = await fetchJwks(values.jwks);
    issuer = values.issuer ?? values.jwks.replace(/\/\.well-known\/jwks\.json$/, '');
  } else {
    const cfg = loadCliConfig(values, io);
    if (!hasKeys(cfg.keys.dir)) {
      throw new Error(
        `no signing keys in ${cfg.keys.dir}${cfg.demo ? ' (demo mode)' : ''}: the service creates them on its first start; ` +
          'to check against a running service, give --server URL',
      );
    }
    const ring = await KeyRing.open(cfg.keys.dir, cfg.keys.algorithm, keyTiming(cfg), now);
    keys = ring.verifier(now);
    issuer = values.issuer ?? cfg.server.publicUrl;
    maxLifetimeSeconds = cfg.tokens.ttlSeconds;
    if (!values.audience) audienceFor = audienceResolver(cfg);
  }

  const extracted = extractToken(input);
  // A token of another issuer says so, rather than failing as a bad signature (other keys).
  if (extracted.ok) {
    let iss: unknown;
    try {
      iss = decodeJwt(extracted.token).iss;
    } catch {
      iss = undefined; // malformed: the check below says so
    }
    if (typeof iss === 'string' && iss !== issuer) {
      io.stderr(`invalid: issued by ${printable(iss, 200)}, this service is ${printable(issuer, 200)}\n`);
      return 1;
    }
  }
  const r = await checkExtracted(extracted, { keys, issuer, now, audienceFor, audience: values.audience, consume: false, maxLifetimeSeconds });
  if (!r.active) {
    io.stderr(`invalid: ${r.error}: ${r.description}\n`);
    return 1;
  }
  io.stdout(`${JSON.stringify({ ...r.claims, message: r.message, deviceId: r.deviceId, replay: 'unchecked' }, null, 2)}\n`);
  return 0;
}
