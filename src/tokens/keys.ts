/**
 * Signing keys on disk (keys.dir), one JSON file per key, with rotation metadata.
 *
 * Rotation without downtime: a new key is published in the JWKS at once but signs
 * only from `activateAt` = now + JWKS max-age (so every cached JWKS has it first);
 * the key it replaces keeps signing until then and stays published until every
 * token it signed has expired (`retireAt` + token TTL).
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, unlinkSync, watch, type FSWatcher } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { randomBytes, type KeyObject } from 'node:crypto';
import { signingKeyObject } from './sign.js';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';

export type SigningAlg = 'ES256' | 'RS256' | 'PS256' | 'EdDSA';

interface KeyFile {
  kid: string;
  alg: SigningAlg;
  createdAt: number;
  /** Signs from this time on (epoch ms). */
  activateAt: number;
  /** Stops signing at this time (epoch ms); null while current. */
  retireAt: number | null;
  privateJwk: JWK;
}

export interface LoadedKey extends KeyFile {
  privateKey: CryptoKey;
  /** The same private key for node:crypto's synchronous sign (src/tokens/sign.ts). */
  keyObject: KeyObject;
  publicJwk: JWK;
}

export interface KeyTiming {
  jwksMaxAgeSeconds: number;
  tokenTtlSeconds: number;
}

/** Key timing from the configuration's `keys.jwksMaxAgeSeconds` and `tokens.ttlSeconds`. */
export function keyTiming(cfg: { keys: { jwksMaxAgeSeconds: number }; tokens: { ttlSeconds: number } }): KeyTiming {
  return { jwksMaxAgeSeconds: cfg.keys.jwksMaxAgeSeconds, tokenTtlSeconds: cfg.tokens.ttlSeconds };
}

/** Extra published time after the last token a retired key signed, for clock skew. */
const SKEW_MS = 60_000;

function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

async function newKeyFile(alg: SigningAlg, now: number, activateAt: number): Promise<KeyFile> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const jwk = await exportJWK(privateKey);
  // Thumbprint plus a short random part: unique even if the same key material were imported twice.
  const kid = `${(await calculateJwkThumbprint(publicPart(jwk))).slice(0, 16)}${randomBytes(4).toString('hex')}`;
  return { kid, alg, createdAt: now, activateAt, retireAt: null, privateJwk: { ...jwk, kid, alg } };
}

function writeKeyFile(dir: string, key: KeyFile): void {
  const tmp = join(dir, `.${key.kid}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(key, null, 2), { mode: 0o600 });
  renameSync(tmp, join(dir, `${key.kid}.json`)); // atomic: a watcher never reads half a file
}

function readKeyFiles(dir: string): KeyFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as KeyFile)
    .filter((k) => k && typeof k.kid === 'string' && k.privateJwk);
}

/** A first-key lock older than this was left by a process that died while creating the key. */
const FIRST_KEY_LOCK_STALE_MS = 30_000;

/**
 * The first key of an empty directory, created by exactly one of the instances that start
 * together on it (docs/deployment.md): the one that takes the lock file writes the key; the
 * others wait for it. Without this, each would sign with a key of its own that the others do
 * not publish.
 */
async function createFirstKey(dir: string, alg: SigningAlg, now: number): Promise<void> {
  const lock = join(dir, '.first-key.lock');
  for (;;) {
    let fd: number | null = null;
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (fd !== null) {
      try {
        if (readKeyFiles(dir).length === 0) writeKeyFile(dir, await newKeyFile(alg, now, now));
      } finally {
        closeSync(fd);
        unlinkSync(lock);
      }
      return;
    }
    // Another instance is creating it: wait for its key, or take over a lock it left behind.
    await sleep(50);
    if (readKeyFiles(dir).length > 0) return;
    try {
      if (Date.now() - statSync(lock).mtimeMs > FIRST_KEY_LOCK_STALE_MS) unlinkSync(lock);
    } catch {
      // The lock went away meanwhile: try again.
    }
  }
}

function isPublished(k: KeyFile, now: number, t: KeyTiming): boolean {
  return k.retireAt === null || now < k.retireAt + t.tokenTtlSeconds * 1000 + SKEW_MS;
}

export class KeyRing {
  private keys: LoadedKey[] = [];
  /**
   * When this process first saw a key that appeared on a reload (not at start-up). A key
   * picked up late (a SIGHUP long after `keys rotate`, a missed watch event) was not in the
   * JWKS we served until now, so it signs only one max-age after we first published it.
   */
  private readonly seenLate = new Map<string, number>();
  private loadedOnce = false;
  private watcher: FSWatcher | null = null;
  private jwksCache: { sig: string; set: JWTVerifyGetKey } | null = null;

  private constructor(
    readonly dir: string,
    readonly alg: SigningAlg,
    readonly timing: KeyTiming,
    private readonly clock: () => number,
  ) {}

  /** Loads the key directory, creating it and a first key when empty. */
  static async open(dir: string, alg: SigningAlg, timing: KeyTiming, now: number, clock: () => number = Date.now): Promise<KeyRing> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (readKeyFiles(dir).length === 0) await createFirstKey(dir, alg, now);
    const ring = new KeyRing(dir, alg, timing, clock);
    await ring.reload();
    return ring;
  }

  /** Re-reads the directory (after `fedbridge keys rotate`, a SIGHUP or a file change). */
  async reload(): Promise<void> {
    const files = readKeyFiles(this.dir);
    const loaded = await Promise.all(
      files.map(async (f) => ({
        ...f,
        privateKey: (await importJWK(f.privateJwk, f.alg)) as CryptoKey,
        keyObject: signingKeyObject(f.privateJwk),
        publicJwk: { ...publicPart(f.privateJwk), kid: f.kid, alg: f.alg, use: 'sig' },
      })),
    );
    if (loaded.length === 0) throw new Error(`no signing keys in ${this.dir}`);
    if (this.loadedOnce) {
      const known = new Set(this.keys.map((k) => k.kid));
      for (const k of loaded) if (!known.has(k.kid) && !this.seenLate.has(k.kid)) this.seenLate.set(k.kid, this.clock());
    }
    this.loadedOnce = true;
    this.keys = loaded.sort((a, b) => a.activateAt - b.activateAt);
    this.jwksCache = null;
  }

  /** Watches the directory so a running service picks up rotations by itself. */
  watch(onError: (err: Error) => void): void {
    let timer: NodeJS.Timeout | null = null;
    this.watcher = watch(this.dir, () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => this.reload().catch(onError), 100);
    });
    this.watcher.on('error', onError);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  /** When a key may sign: its activateAt, or one max-age after a late pick-up. */
  private signsFrom(k: KeyFile): number {
    const seen = this.seenLate.get(k.kid);
    return seen === undefined ? k.activateAt : Math.max(k.activateAt, seen + this.timing.jwksMaxAgeSeconds * 1000);
  }

  /**
   * The key that signs at `now`: the newest key allowed to sign. A retired key keeps
   * signing until its successor may (retireAt only bounds how long it stays published).
   */
  signingKey(now: number): LoadedKey {
    return this.keys.filter((k) => this.signsFrom(k) <= now).at(-1) ?? this.keys[0];
  }

  /**
   * Keys in the JWKS: every key until its successor has signed for a whole token lifetime
   * (plus skew). Measured from when the successor really began signing here, so a late
   * pick-up that kept the old key signing longer keeps it published longer too.
   */
  published(now: number): LoadedKey[] {
    return this.keys.filter((k, i) => {
      const next = this.keys[i + 1];
      if (!next) return true;
      const stoppedSigning = Math.max(k.retireAt ?? 0, this.signsFrom(next));
      return now < stoppedSigning + this.timing.tokenTtlSeconds * 1000 + SKEW_MS;
    });
  }

  jwks(now: number): { keys: JWK[] } {
    return { keys: this.published(now).map((k) => k.publicJwk) };
  }

  /** A jose key resolver over the currently published keys (cached per key set). */
  verifier(now: number): JWTVerifyGetKey {
    const jwks = this.jwks(now);
    const sig = jwks.keys.map((k) => k.kid).join(',');
    if (this.jwksCache?.sig !== sig) this.jwksCache = { sig, set: createLocalJWKSet(jwks) };
    return this.jwksCache.set;
  }

  list(now: number): Array<{ kid: string; alg: string; state: string; createdAt: number; activateAt: number; retireAt: number | null }> {
    const signing = this.signingKey(now).kid;
    return this.keys.map((k) => ({
      kid: k.kid,
      alg: k.alg,
      state:
        k.kid === signing
          ? 'signing'
          : this.signsFrom(k) > now
            ? 'published, signs later'
            : this.published(now).includes(k)
              ? 'retired, still published'
              : 'expired',
      createdAt: k.createdAt,
      activateAt: k.activateAt,
      retireAt: k.retireAt,
    }));
  }
}

/**
 * Adds a key that signs after the JWKS max-age, retires the current one at that moment,
 * and deletes key files no longer published. Works on the directory alone (CLI).
 */
export async function rotateKeys(dir: string, alg: SigningAlg, timing: KeyTiming, now: number): Promise<{ kid: string; activateAt: number; removed: string[] }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const existing = readKeyFiles(dir);
  const activateAt = now + timing.jwksMaxAgeSeconds * 1000;
  const fresh = await newKeyFile(alg, now, activateAt);
  writeKeyFile(dir, fresh);
  for (const k of existing) {
    if (k.retireAt === null || k.retireAt > activateAt) writeKeyFile(dir, { ...k, retireAt: activateAt });
  }
  const removed: string[] = [];
  for (const k of existing) {
    const retireAt = k.retireAt === null || k.retireAt > activateAt ? activateAt : k.retireAt;
    if (!isPublished({ ...k, retireAt }, now, timing)) {
      unlinkSync(join(dir, `${k.kid}.json`));
      removed.push(k.kid);
    }
  }
  return { kid: fresh.kid, activateAt, removed };
}
