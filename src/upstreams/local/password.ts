/**
 * Password hashes for the built-in `local` IdP: scrypt from node:crypto
 * (memory-hard, no native dependency). Format: scrypt$N$r$p$salt$hash (base64url).
 */
import { randomBytes, scrypt as scryptCb, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { passwordHashQueue } from './hashqueue.js';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LEN = 32;
// scrypt needs 128*N*r bytes; give it headroom over Node's 32 MiB default.
const MAXMEM = 64 * 1024 * 1024;

function scrypt(password: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export function hashPasswordSync(password: string, salt: Buffer = randomBytes(16)): string {
  const key = scryptSync(password, salt, KEY_LEN, { N, r: R, p: P, maxmem: MAXMEM });
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

interface Parsed {
  n: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * A complete hash as `fedbridge user hash-password` prints it, or null: the shape, what scrypt
 * would refuse at sign-in (N a power of two, memory within MAXMEM, p at most 16) and what a
 * cut-off copy lacks (a 16-byte salt, a 32-byte key). The config schema and verifyPassword
 * both judge hashes here.
 */
function parseHash(hash: string): Parsed | null {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0) || n > 1 << 20) return null;
  if (n < 2 || (n & (n - 1)) !== 0 || p > 16 || 128 * r * (n + 2 + p) > MAXMEM) return null;
  if (!BASE64URL.test(parts[4]) || !BASE64URL.test(parts[5])) return null;
  const salt = Buffer.from(parts[4], 'base64url');
  const key = Buffer.from(parts[5], 'base64url');
  return salt.length >= 16 && key.length >= 32 ? { n, r, p, salt, key } : null;
}

export function isPasswordHash(hash: string): boolean {
  return parseHash(hash) !== null;
}

/**
 * Checks a password in constant time. With a null/invalid hash (unknown user) it still
 * runs one scrypt so that response time does not reveal whether the user exists.
 * The hash waits its turn in the bounded queue (./hashqueue.ts), which throws 503
 * `server_busy` when full.
 */
export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  const parsed = hash ? parseHash(hash) : null;
  const target = parsed ?? DUMMY;
  const key = await passwordHashQueue.run(() =>
    scrypt(password, target.salt, target.key.length, { N: target.n, r: target.r, p: target.p, maxmem: MAXMEM }),
  );
  return parsed !== null && timingSafeEqual(key, target.key);
}

const DUMMY: Parsed = { n: N, r: R, p: P, salt: Buffer.alloc(16, 1), key: Buffer.alloc(KEY_LEN) };
