/** HTTP Basic authentication of enrollment servers (clients of /introspect). */
import type { Config } from '../config/load.js';
import { unauthorized } from '../errors.js';
import { sameDigest, secretDigest as digest } from '../http/secrets.js';

type Client = Config['enrollmentServers'][number];

export function parseBasic(header: string | undefined): { id: string; secret: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return null;
  // RFC 6749 §2.3.1: client id and secret are form-urlencoded inside Basic.
  try {
    return { id: decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' ')), secret: decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' ')) };
  } catch {
    return { id: decoded.slice(0, i), secret: decoded.slice(i + 1) };
  }
}

/** Digests of the configured credentials, computed once per config (not per request). */
const digested = new WeakMap<Client[], Array<{ client: Client; id: Buffer; secret: Buffer }>>();
function digestsOf(clients: Client[]) {
  let d = digested.get(clients);
  if (!d) {
    d = clients.map((client) => ({ client, id: digest(client.id), secret: digest(client.secret) }));
    digested.set(clients, d);
  }
  return d;
}

/**
 * Authorization headers that authenticated recently, per config (a reloaded config starts
 * empty): an enrollment server sends the same header on every call, and parsing and hashing
 * it again is a measurable share of /introspect (bench/introspect.js). Only successes are
 * kept, so a hit tells nothing the 200 does not; a lookup hashes the whole header (no
 * prefix-by-prefix comparison), and a miss takes the constant-time path below.
 */
const ACCEPTED_TTL_MS = 60_000;
const ACCEPTED_MAX = 64;
const accepted = new WeakMap<Client[], Map<string, { client: Client; until: number }>>();

/** Reading request headers and setting response headers: a Koa context, or the lean /introspect listener's. */
export interface HeaderAccess {
  get(name: string): string;
  set(name: string, value: string): void;
}

export function authenticateClient(ctx: HeaderAccess, clients: Client[]): Client {
  const header = ctx.get('authorization');
  let seen = accepted.get(clients);
  const hit = seen?.get(header);
  const now = Date.now();
  if (hit && hit.until > now) return hit.client;
  const client = authenticateHeader(ctx, header, clients);
  if (!seen) accepted.set(clients, (seen = new Map()));
  if (seen.size >= ACCEPTED_MAX) seen.clear();
  seen.set(header, { client, until: now + ACCEPTED_TTL_MS });
  return client;
}

function authenticateHeader(ctx: HeaderAccess, header: string, clients: Client[]): Client {
  const given = parseBasic(header);
  if (!given) {
    ctx.set('WWW-Authenticate', 'Basic realm="fedbridge"');
    throw unauthorized('invalid_client', 'client authentication required (HTTP Basic)');
  }
  const id = digest(given.id);
  const secret = digest(given.secret);
  let match: Client | null = null;
  for (const c of digestsOf(clients)) {
    // Compare against every client so timing does not reveal which ids exist.
    const idOk = sameDigest(c.id, id);
    const secretOk = sameDigest(c.secret, secret);
    if (idOk && secretOk) match = c.client;
  }
  if (!match) {
    ctx.set('WWW-Authenticate', 'Basic realm="fedbridge"');
    throw unauthorized('invalid_client', 'wrong client id or secret');
  }
  return match;
}
