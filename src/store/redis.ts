import { Redis } from 'ioredis';
import type { AuditEvent, ConsumeResult, Invitation, Store, Transaction } from './types.js';

/*
 * Key layout (all under keyPrefix, default 'fedbridge:'):
 *   tx:<state>            string  Transaction JSON
 *   jti:<jti>             hash    dev, exp
 *   inv:<id>              hash    data (Invitation JSON without usedAt), exp, used ('' = unused)
 *   ctr:<key>:<window>    string  counter
 *   fam:<subject>         zset    score = expiresAt, member = normalized address (familiar addresses)
 *   audit, audit:t:<tid>  zset    score = at, member = <seq>|<event JSON>
 *   audit:seq             string  insertion sequence (tie-break and member uniqueness)
 *
 * Times come from the caller's (injectable) clock, so logical expiry is
 * checked against `now` on every read; key TTLs, computed relative to the
 * caller's clock, only bound how long Redis keeps the data. Atomic
 * read-modify-write steps are Lua scripts (no GETDEL etc., so Redis 6.0 works).
 */

const LUA = {
  take: `local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) end
return v`,
  // ARGV: deviceId, expiresAt, now, ttlMs
  consume: `local cur = redis.call('HMGET', KEYS[1], 'dev', 'exp')
if cur[2] and tonumber(cur[2]) > tonumber(ARGV[3]) then
  if ARGV[1] ~= '' and cur[1] == ARGV[1] then return 'retry' end
  return 'replayed'
end
redis.call('HSET', KEYS[1], 'dev', ARGV[1], 'exp', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 'consumed'`,
  // ARGV: now
  useInvitation: `local cur = redis.call('HMGET', KEYS[1], 'exp', 'used')
if not cur[1] or tonumber(cur[1]) <= tonumber(ARGV[1]) or cur[2] ~= '' then return 0 end
redis.call('HSET', KEYS[1], 'used', ARGV[1])
return 1`,
  // ARGV: ttlMs; the TTL is set once, when the window's counter is created.
  hit: `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`,
  release: `local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 0`,
  // ARGV: address, expiresAt, now. Extends (never shortens) the address's expiry, drops
  // expired members, and keeps the key as long as its longest-lived member.
  remember: `local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) < tonumber(ARGV[2]) then redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local top = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if top[2] then redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(tonumber(top[2]) - tonumber(ARGV[3])))) end
return 0`,
};

type ScriptedRedis = Redis & {
  fbTake(key: string): Promise<string | null>;
  fbConsume(key: string, deviceId: string, expiresAt: number, now: number, ttl: number): Promise<ConsumeResult>;
  fbUseInvitation(key: string, now: number): Promise<number>;
  fbHit(key: string, ttl: number): Promise<number>;
  fbRelease(key: string): Promise<number>;
  fbRemember(key: string, address: string, expiresAt: number, now: number): Promise<number>;
};

export interface RedisStoreOptions {
  keyPrefix?: string;
  /** Newest audit events kept (globally and per tenant). */
  auditCap?: number;
}

const CONNECT_TIMEOUT_MS = 3000;

/** Positive TTL in ms; Redis rejects PX <= 0, and an already-expired item is never read as live anyway. */
const ttl = (expiresAt: number, from: number) => Math.max(1, Math.ceil(expiresAt - from));

/** The URL without credentials, for error messages. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(unparseable Redis URL)';
  }
}

export class RedisStore implements Store {
  readonly kind = 'redis' as const;

  private constructor(
    private readonly redis: ScriptedRedis,
    private readonly auditCap: number,
  ) {}

  static async open(url: string, opts: RedisStoreOptions = {}): Promise<RedisStore> {
    const redis = new Redis(url, {
      keyPrefix: opts.keyPrefix ?? 'fedbridge:',
      lazyConnect: false,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Fail requests fast while Redis is down so /readyz reports it.
      maxRetriesPerRequest: 2,
    }) as ScriptedRedis;
    redis.defineCommand('fbTake', { numberOfKeys: 1, lua: LUA.take });
    redis.defineCommand('fbConsume', { numberOfKeys: 1, lua: LUA.consume });
    redis.defineCommand('fbUseInvitation', { numberOfKeys: 1, lua: LUA.useInvitation });
    redis.defineCommand('fbHit', { numberOfKeys: 1, lua: LUA.hit });
    redis.defineCommand('fbRelease', { numberOfKeys: 1, lua: LUA.release });
    redis.defineCommand('fbRemember', { numberOfKeys: 1, lua: LUA.remember });
    try {
      await whenReady(redis);
    } catch (err) {
      redis.disconnect(); // stop ioredis from reconnecting forever
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`Redis unreachable at ${safeUrl(url)}: ${why}`, { cause: err });
    }
    // After startup, errors surface as rejected commands (and a failing ping);
    // this listener only stops ioredis from printing every reconnect attempt.
    redis.on('error', () => {});
    return new RedisStore(redis, opts.auditCap ?? 100_000);
  }

  async putTransaction(tx: Transaction): Promise<void> {
    await this.redis.set(`tx:${tx.state}`, JSON.stringify(tx), 'PX', ttl(tx.expiresAt, tx.createdAt));
  }

  async getTransaction(state: string, now: number): Promise<Transaction | null> {
    return liveTx(await this.redis.get(`tx:${state}`), now);
  }

  async takeTransaction(state: string, now: number): Promise<Transaction | null> {
    return liveTx(await this.redis.fbTake(`tx:${state}`), now);
  }

  async consumedBy(jti: string, now: number): Promise<string | null> {
    const [dev, exp] = await this.redis.hmget(`jti:${jti}`, 'dev', 'exp');
    return dev !== null && exp !== null && Number(exp) > now ? dev : null;
  }

  async consumeToken(jti: string, deviceId: string, expiresAt: number, now: number): Promise<ConsumeResult> {
    return this.redis.fbConsume(`jti:${jti}`, deviceId, expiresAt, now, ttl(expiresAt, now));
  }

  async putInvitation(inv: Invitation): Promise<void> {
    const { usedAt, ...data } = inv;
    const key = `inv:${inv.id}`;
    await this.redis.multi()
      .hset(key, 'data', JSON.stringify(data), 'exp', String(inv.expiresAt), 'used', usedAt === null ? '' : String(usedAt))
      .pexpire(key, ttl(inv.expiresAt, inv.createdAt))
      .exec()
      .then(checkExec);
  }

  async getInvitation(id: string, now: number): Promise<Invitation | null> {
    const [data, used] = await this.redis.hmget(`inv:${id}`, 'data', 'used');
    if (data === null) return null;
    const inv = JSON.parse(data) as Omit<Invitation, 'usedAt'>;
    if (inv.expiresAt <= now) return null;
    return { ...inv, usedAt: used ? Number(used) : null };
  }

  async useInvitation(id: string, now: number): Promise<boolean> {
    return (await this.redis.fbUseInvitation(`inv:${id}`, now)) === 1;
  }

  async hit(key: string, windowMs: number, now: number): Promise<number> {
    const win = Math.floor(now / windowMs);
    return this.redis.fbHit(`ctr:${key}:${win}`, ttl((win + 1) * windowMs, now));
  }

  async count(key: string, windowMs: number, now: number): Promise<number> {
    return Number((await this.redis.get(`ctr:${key}:${Math.floor(now / windowMs)}`)) ?? 0);
  }

  async release(key: string, windowMs: number, now: number): Promise<void> {
    await this.redis.fbRelease(`ctr:${key}:${Math.floor(now / windowMs)}`);
  }

  async rememberAddress(subject: string, address: string, expiresAt: number, now: number): Promise<void> {
    await this.redis.fbRemember(`fam:${subject}`, address, expiresAt, now);
  }

  async isFamiliarAddress(subject: string, address: string, now: number): Promise<boolean> {
    const score = await this.redis.zscore(`fam:${subject}`, address);
    return score !== null && Number(score) > now;
  }

  async appendAudit(events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    const last = await this.redis.incrby('audit:seq', events.length);
    const m = this.redis.multi();
    const touched = new Set<string>(['audit']);
    events.forEach((e, i) => {
      // Zero-padded so members with equal scores sort by insertion order.
      const member = `${String(last - events.length + 1 + i).padStart(16, '0')}|${JSON.stringify(e)}`;
      m.zadd('audit', e.at, member);
      if (e.tenantId != null) {
        m.zadd(`audit:t:${e.tenantId}`, e.at, member);
        touched.add(`audit:t:${e.tenantId}`);
      }
    });
    for (const key of touched) m.zremrangebyrank(key, 0, -(this.auditCap + 1));
    checkExec(await m.exec());
  }

  async listAudit(opts: { limit: number; before?: number; tenantId?: string }): Promise<AuditEvent[]> {
    const limit = Math.max(0, Math.floor(opts.limit));
    if (limit === 0) return [];
    const key = opts.tenantId === undefined ? 'audit' : `audit:t:${opts.tenantId}`;
    const max = opts.before === undefined ? '+inf' : `(${opts.before}`;
    const members = await this.redis.zrevrangebyscore(key, max, '-inf', 'LIMIT', 0, limit);
    return members.map((m) => JSON.parse(m.slice(m.indexOf('|') + 1)) as AuditEvent);
  }

  /**
   * Redis drops expired keys itself (PX TTLs); reads already ignore logically expired ones.
   * A user's familiar addresses share one key that lives as long as its newest member; expired
   * members are dropped whenever that user signs in again, and are never read as familiar.
   */
  async purgeExpired(_now: number): Promise<void> {}

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    if (this.redis.status === 'end') return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect(); // QUIT fails when already disconnected
    }
  }
}

function liveTx(json: string | null, now: number): Transaction | null {
  if (json === null) return null;
  const tx = JSON.parse(json) as Transaction;
  return tx.expiresAt > now ? tx : null;
}

/** MULTI reports per-command errors in its result instead of rejecting. */
function checkExec(results: [Error | null, unknown][] | null): void {
  if (results === null) throw new Error('Redis MULTI was aborted');
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
}

/** Resolves on 'ready'; rejects on the first connection error or after a deadline. */
function whenReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const onError = (err: Error) => done(err);
    // Covers a peer that accepts TCP but never answers like Redis.
    const timer = setTimeout(() => done(new Error(`no ready reply within ${2 * CONNECT_TIMEOUT_MS} ms`)), 2 * CONNECT_TIMEOUT_MS);
    redis.once('ready', onReady);
    redis.once('error', onError);
  });
}
