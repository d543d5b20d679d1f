import { Cluster, Redis } from 'ioredis';
import type {
  AuditEvent, AuditQuery, ConsumeResult, Invitation, StoredAuditEvent, StoredTenant, Store, TenantCreateResult,
  TenantLogo, TenantUpdateResult, Transaction,
} from './types.js';
import {
  auditPageSize, checkLogo, decodeAuditCursor, encodeAuditCursor, listLimit, newEtag, checkTenantInput, parseStoredJson,
} from './shared.js';
import { EPOCH_GROUPS, epochGroup, genesisNotBefore, lossNotBefore, newEpochId } from './epoch.js';
import { storeUnavailable } from './unavailable.js';

/*
 * Key layout (all under keyPrefix, default 'fedbridge:'):
 *   tx:<state>            string  Transaction JSON
 *   jti:{m<g>}:<jti>      hash    dev, exp (g = epochGroup(jti), src/store/epoch.ts)
 *   epoch:{m<g>}          hash    id, nb (notBefore), at: the group's store epoch
 *   inv:<id>              hash    data (Invitation JSON without usedAt), exp, used ('' = unused)
 *   ctr:<key>:<window>    string  counter
 *   fam:<subject>         zset    score = expiresAt, member = normalized address (familiar addresses)
 *   {audit}, {audit}:t:<tid>  zset  score = at, member = <seq>|<event JSON>
 *   {audit}:seq           string  insertion sequence (tie-break and member uniqueness; the event's id)
 *   {audit}:tenants       set     tenant ids that have an {audit}:t:<tid> (for purgeAudit)
 *   {invitations}, {invitations}:t:<tid>  zset  score = createdAt, member = JSON [tenantId, id]
 *   {invitations}:exp     zset    score = expiresAt, member as above (purgeExpired drops index entries)
 *   {tenants}:doc|dom|ver|upd  hash  tenant id -> doc JSON | domains JSON | version | updatedAt
 *   {tenants}:claims      hash    domain -> tenant id (each domain claimed once)
 *   {tenants}:ds:<tid>    set     the tenant's claimed domains (what the scripts read back)
 *   {tenants}:rev         string  tenants revision (INCR on every tenant or logo change)
 *   {tenants}:logo:<tid>  hash    ct, etag, bytes
 *
 * Every key one Lua script or MULTI touches shares a hash tag ({m<g>}, {audit}, {invitations},
 * {tenants}), so all of them work on Redis Cluster; the other scripts touch one key each. The
 * invitation index is written beside the invitation (another slot) by a second command: a read
 * skips index entries whose invitation is gone, and purgeExpired drops them once expired.
 *
 * Times come from the caller's (injectable) clock, so logical expiry is
 * checked against `now` on every read; key TTLs, computed relative to the
 * caller's clock, only bound how long Redis keeps the data. Atomic
 * read-modify-write steps are Lua scripts (no GETDEL etc., so Redis 6.0 works).
 */

/*
 * The epoch check every replay decision starts with (src/store/epoch.ts). A missing epoch is
 * created: with ARGV[4] as notBefore (the caller passes genesis at open, loss afterwards). An epoch
 * whose id is not the one the caller knew was recreated by another instance after a loss: its
 * notBefore is raised to ARGV[4] too.
 */
const EPOCH_LUA = `local issued = tonumber(ARGV[1])
local now = tonumber(ARGV[5])
local ep = redis.call('HMGET', KEYS[1], 'id', 'nb')
local id, nb, state = ep[1], tonumber(ep[2]), 'same'
if not id then
  id, nb, state = ARGV[3], tonumber(ARGV[4]), (ARGV[2] == '' and 'new' or 'lost')
  redis.call('HSET', KEYS[1], 'id', id, 'nb', ARGV[4], 'at', ARGV[5])
elseif ARGV[2] ~= '' and id ~= ARGV[2] then
  state = 'lost'
  if tonumber(ARGV[4]) > nb then
    nb = tonumber(ARGV[4])
    redis.call('HSET', KEYS[1], 'nb', ARGV[4])
  end
end`;

const LUA = {
  take: `local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) end
return v`,
  // KEYS: epoch, marker. ARGV: issuedAt ('' = unknown), knownEpochId ('' = none), newEpochId,
  // lossNotBefore, now, then for consume: deviceId, expiresAt, ttlMs.
  // Returns { result, epochId, 'same' | 'lost' }; result for consumedBy is the bound device, or
  // false when not consumed.
  consume: `${EPOCH_LUA}
if issued and issued < nb then return {'replayed', id, state} end
local cur = redis.call('HMGET', KEYS[2], 'dev', 'exp')
if cur[2] and tonumber(cur[2]) > now then
  if ARGV[6] ~= '' and cur[1] == ARGV[6] then return {'retry', id, state} end
  return {'replayed', id, state}
end
redis.call('HSET', KEYS[2], 'dev', ARGV[6], 'exp', ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
return {'consumed', id, state}`,
  consumedBy: `${EPOCH_LUA}
if issued and issued < nb then return {'', id, state} end
local cur = redis.call('HMGET', KEYS[2], 'dev', 'exp')
if cur[2] and tonumber(cur[2]) > now then return {cur[1], id, state} end
return {false, id, state}`,
  // KEYS: epoch. ARGV: '' , knownEpochId, newEpochId, notBefore if created, now.
  epoch: `${EPOCH_LUA}
return {'', id, state}`,
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
  // KEYS: a tenant's audit zset, {audit}:tenants. ARGV: before, tenant id. Forgets emptied tenants.
  auditPurgeTenant: `local n = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return n`,
  // ARGV: now. Deletes a live invitation; returns its data (for the index), or false.
  revokeInvitation: `local cur = redis.call('HMGET', KEYS[1], 'exp', 'data')
if not cur[1] or tonumber(cur[1]) <= tonumber(ARGV[1]) then return false end
redis.call('DEL', KEYS[1])
return cur[2]`,
};

/*
 * The next events of an audit page (queryAudit): looks at up to ARGV[4] members of KEYS[1] (an
 * audit zset), newest first, strictly after the cursor event (ARGV[1] = its at, ARGV[2] = its
 * zero-padded seq; '' = from the newest) and at or after ARGV[3] ('' = no bound). Members of the
 * cursor's millisecond are told apart by their seq prefix. With ARGV[5] (the text `"type":<the
 * type as JSON>`) only members containing it are returned: every event of that type does (the
 * member is JSON.stringify output: no spaces, quotes inside strings escaped), and the caller
 * drops the few others (a nested "type" key). Returns { how many looked at, last looked at, match... }.
 */
const AUDIT_PAGE_LUA = `local key, n, pat = KEYS[1], tonumber(ARGV[4]), ARGV[5]
local min = ARGV[3] == '' and '-inf' or ARGV[3]
local out, looked, last = {}, 0, ''
local function take(m)
  looked = looked + 1
  last = m
  if pat == '' or string.find(m, pat, 18, true) then out[#out + 1] = m end
end
local max = '+inf'
if ARGV[1] ~= '' then
  if ARGV[3] == '' or tonumber(ARGV[1]) >= tonumber(ARGV[3]) then
    for _, m in ipairs(redis.call('ZREVRANGEBYSCORE', key, ARGV[1], ARGV[1])) do
      if looked >= n then break end
      if string.sub(m, 1, 16) < ARGV[2] then take(m) end
    end
  end
  max = '(' .. ARGV[1]
end
if looked < n then
  for _, m in ipairs(redis.call('ZREVRANGEBYSCORE', key, max, min, 'LIMIT', 0, n - looked)) do take(m) end
end
table.insert(out, 1, last)
table.insert(out, 1, tostring(looked))
return out`;

/*
 * Tenants: KEYS = {tenants}:doc, :dom, :ver, :upd, :claims, :rev, then the tenant's domain set
 * {tenants}:ds:<id> and its logo {tenants}:logo:<id> (create drops a logo left under the id). ARGV = id, then for create: doc JSON, domains
 * JSON (for listTenants; never decoded here), now, domain...; for update the same with the
 * expected version ('' for any) before the domains; for delete the expected version ('' for any).
 * The domain set is what the scripts read back, so no JSON is parsed in Lua.
 */
const TENANT_LUA = {
  create: `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'id_taken' end
for i = 5, #ARGV do
  if redis.call('HEXISTS', KEYS[5], ARGV[i]) == 1 then return 'domain_taken' end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], 1)
redis.call('HSET', KEYS[4], ARGV[1], ARGV[4])
redis.call('DEL', KEYS[7])
redis.call('DEL', KEYS[8])
for i = 5, #ARGV do
  redis.call('HSET', KEYS[5], ARGV[i], ARGV[1])
  redis.call('SADD', KEYS[7], ARGV[i])
end
redis.call('INCR', KEYS[6])
return 'ok'`,
  update: `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 'not_found' end
if ARGV[5] ~= '' and redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[5] then return 'version_mismatch' end
for i = 6, #ARGV do
  local owner = redis.call('HGET', KEYS[5], ARGV[i])
  if owner and owner ~= ARGV[1] then return 'domain_taken' end
end
for _, d in ipairs(redis.call('SMEMBERS', KEYS[7])) do
  if redis.call('HGET', KEYS[5], d) == ARGV[1] then redis.call('HDEL', KEYS[5], d) end
end
redis.call('DEL', KEYS[7])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
redis.call('HSET', KEYS[4], ARGV[1], ARGV[4])
for i = 6, #ARGV do
  redis.call('HSET', KEYS[5], ARGV[i], ARGV[1])
  redis.call('SADD', KEYS[7], ARGV[i])
end
redis.call('INCR', KEYS[6])
return 'ok'`,
  delete: `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return -1 end
for _, d in ipairs(redis.call('SMEMBERS', KEYS[7])) do
  if redis.call('HGET', KEYS[5], d) == ARGV[1] then redis.call('HDEL', KEYS[5], d) end
end
for i = 1, 4 do redis.call('HDEL', KEYS[i], ARGV[1]) end
redis.call('DEL', KEYS[7], KEYS[8])
redis.call('INCR', KEYS[6])
return 1`,
};

type EpochReply = [unknown, string, 'same' | 'new' | 'lost'];
type ScriptedRedis = Redis & {
  fbTake(key: string): Promise<string | null>;
  fbConsume(epochKey: string, key: string, ...args: (string | number)[]): Promise<EpochReply>;
  fbConsumedBy(epochKey: string, key: string, ...args: (string | number)[]): Promise<EpochReply>;
  fbEpoch(epochKey: string, ...args: (string | number)[]): Promise<EpochReply>;
  fbUseInvitation(key: string, now: number): Promise<number>;
  fbHit(key: string, ttl: number): Promise<number>;
  fbRelease(key: string): Promise<number>;
  fbRemember(key: string, address: string, expiresAt: number, now: number): Promise<number>;
  fbAuditPage(key: string, at: number | '', seq: string, since: number | '', n: number, pattern: string): Promise<string[]>;
  fbAuditPurgeTenant(key: string, registry: string, before: number, tenantId: string): Promise<number>;
  fbRevokeInvitation(key: string, now: number): Promise<string | null>;
  fbTenantCreate(...keysAndArgs: (string | number)[]): Promise<TenantCreateResult>;
  fbTenantUpdate(...keysAndArgs: (string | number)[]): Promise<TenantUpdateResult>;
  fbTenantDelete(...keysAndArgs: (string | number)[]): Promise<number>;
};

export interface RedisStoreOptions {
  keyPrefix?: string;
  /** Newest audit events kept (globally and per tenant). */
  auditCap?: number;
  /** The caller's clock at open: a new epoch starts in this second (src/store/epoch.ts). */
  now?: number;
  /** The caller's clock, for the epoch check made on reconnect. */
  clock?: () => number;
  /** Called when the store is found to have lost its state (for the log). */
  onStateLost?: (detail: string) => void;
}

/** Where Redis is: one server, a Sentinel-managed master, or a Cluster (docs/operations.md). */
export type RedisTarget =
  | { url: string }
  | { sentinels: string[]; name: string; password?: string }
  | { cluster: string[]; password?: string };

const CONNECT_TIMEOUT_MS = 3000;
/** A command that has no answer by then fails (503) instead of holding the request. */
const COMMAND_TIMEOUT_MS = 3000;
/** Reconnect quickly, so the service is ready again within half a second of Redis. */
const retryStrategy = (times: number) => Math.min(times * 50, 500);

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

/** `host:port`, `[v6]:port`; the port defaults to `defaultPort`. */
export function parseHostPort(s: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m) throw new Error(`not host:port: ${s}`);
  return { host: m[1]!, port: m[2] ? Number(m[2]) : defaultPort };
}

function describeTarget(t: RedisTarget): string {
  if ('url' in t) return safeUrl(t.url);
  if ('sentinels' in t) return `Sentinel ${t.sentinels.join(',')} (master ${t.name})`;
  return `Cluster ${t.cluster.join(',')}`;
}

/**
 * Errors that mean "Redis cannot be reached or cannot serve right now" (connection lost,
 * timeouts, a master failing over, a replica promoted read-only, a dataset still loading):
 * they become a 503 with Retry-After. Anything else (a bug) stays what it is.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (['MaxRetriesPerRequestError', 'ClusterAllFailedError', 'AbortError'].includes(err.name)) return true;
  return /^(LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|BUSY|NOREPLICAS|MISCONF|OOM) |Connection is closed|Stream isn't writeable|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|None of startup nodes|Failed to refresh slots cache|All sentinels are unreachable/.test(
    err.message,
  );
}

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  /** The epoch id this instance last saw, per marker group (src/store/epoch.ts). */
  private readonly epochs = new Map<number, string>();

  private constructor(
    private readonly redis: ScriptedRedis,
    private readonly cluster: Cluster | null,
    private readonly auditCap: number,
    private readonly onStateLost: (detail: string) => void,
  ) {}

  static async open(target: string | RedisTarget, opts: RedisStoreOptions = {}): Promise<RedisStore> {
    const t: RedisTarget = typeof target === 'string' ? { url: target } : target;
    const keyPrefix = opts.keyPrefix ?? 'fedbridge:';
    const common = {
      keyPrefix,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      // Fail requests fast while Redis is down so pages say so (503) and /readyz reports it.
      maxRetriesPerRequest: 1,
    };
    let cluster: Cluster | null = null;
    let redis: ScriptedRedis;
    if ('cluster' in t) {
      cluster = new Cluster(t.cluster.map((n) => parseHostPort(n, 6379)), {
        keyPrefix,
        clusterRetryStrategy: retryStrategy,
        redisOptions: { connectTimeout: CONNECT_TIMEOUT_MS, commandTimeout: COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1, password: t.password },
      });
      redis = cluster as unknown as ScriptedRedis;
    } else if ('sentinels' in t) {
      redis = new Redis({
        ...common,
        sentinels: t.sentinels.map((n) => parseHostPort(n, 26379)),
        name: t.name,
        password: t.password,
        retryStrategy,
        sentinelRetryStrategy: retryStrategy,
      }) as ScriptedRedis;
    } else {
      redis = new Redis(t.url, { ...common, retryStrategy }) as ScriptedRedis;
    }
    const client = redis as unknown as Redis;
    client.defineCommand('fbTake', { numberOfKeys: 1, lua: LUA.take });
    client.defineCommand('fbConsume', { numberOfKeys: 2, lua: LUA.consume });
    client.defineCommand('fbConsumedBy', { numberOfKeys: 2, lua: LUA.consumedBy });
    client.defineCommand('fbEpoch', { numberOfKeys: 1, lua: LUA.epoch });
    client.defineCommand('fbUseInvitation', { numberOfKeys: 1, lua: LUA.useInvitation });
    client.defineCommand('fbHit', { numberOfKeys: 1, lua: LUA.hit });
    client.defineCommand('fbRelease', { numberOfKeys: 1, lua: LUA.release });
    client.defineCommand('fbRemember', { numberOfKeys: 1, lua: LUA.remember });
    client.defineCommand('fbAuditPage', { numberOfKeys: 1, lua: AUDIT_PAGE_LUA });
    client.defineCommand('fbAuditPurgeTenant', { numberOfKeys: 2, lua: LUA.auditPurgeTenant });
    client.defineCommand('fbRevokeInvitation', { numberOfKeys: 1, lua: LUA.revokeInvitation });
    client.defineCommand('fbTenantCreate', { numberOfKeys: 8, lua: TENANT_LUA.create });
    client.defineCommand('fbTenantUpdate', { numberOfKeys: 7, lua: TENANT_LUA.update });
    client.defineCommand('fbTenantDelete', { numberOfKeys: 8, lua: TENANT_LUA.delete });
    try {
      await whenReady(client);
    } catch (err) {
      client.disconnect(); // stop ioredis from reconnecting forever
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`Redis unreachable at ${describeTarget(t)}: ${why}`, { cause: err });
    }
    // After startup, errors surface as rejected commands (and a failing ping);
    // this listener only stops ioredis from printing every reconnect attempt.
    client.on('error', () => {});
    const store = new RedisStore(redis, cluster, opts.auditCap ?? 100_000, opts.onStateLost ?? (() => {}));
    try {
      await store.checkEpochs(genesisNotBefore(opts.now ?? Date.now()), opts.now ?? Date.now());
    } catch (err) {
      client.disconnect();
      throw err;
    }
    // Back after an outage: look at once whether Redis came back empty (a restart without
    // persistence), so the loss is known before the next replay decision needs it.
    const clock = opts.clock ?? Date.now;
    client.on('ready', () => {
      const now = clock();
      store.checkEpochs(lossNotBefore(now), now).catch(() => {});
    });
    return store;
  }

  /** Creates missing epochs (notBefore as given) and learns every group's epoch id. */
  private async checkEpochs(notBefore: number, now: number): Promise<void> {
    const lost: number[] = [];
    await Promise.all(
      Array.from({ length: EPOCH_GROUPS }, async (_, g) => {
        const reply = await this.redis.fbEpoch(epochKey(g), '', this.epochs.get(g) ?? '', newEpochId(), notBefore, now);
        if (this.learn(g, reply)) lost.push(g);
      }),
    );
    if (lost.length) this.reportLoss(lost);
  }

  /** Records the group's epoch id; true when the reply says the group lost its state. */
  private learn(g: number, [, id, state]: EpochReply): boolean {
    this.epochs.set(g, id);
    return state === 'lost';
  }

  private reportLoss(groups: number[]): void {
    this.onStateLost(`Redis lost its state (marker groups ${groups.join(',')}): tokens issued before now are refused at Enroll`);
  }

  /**
   * A replay decision found its group's state lost: the rest of Redis (every group, so every
   * Cluster master) most likely forgot too; mark every group now rather than at its own next
   * decision, so tokens issued from now on (plus the skew margin) are accepted again everywhere.
   */
  private async afterDecision(g: number, reply: EpochReply, now: number): Promise<void> {
    if (!this.learn(g, reply)) return;
    this.reportLoss([g]);
    await this.checkEpochs(lossNotBefore(now), now).catch(() => {});
  }

  /** Runs a command; "Redis unreachable" becomes the 503 store_unavailable. */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw isRedisUnavailable(err) ? storeUnavailable(err) : err;
    }
  }

  async putTransaction(tx: Transaction): Promise<void> {
    await this.run(() => this.redis.set(`tx:${tx.state}`, JSON.stringify(tx), 'PX', ttl(tx.expiresAt, tx.createdAt)));
  }

  async getTransaction(state: string, now: number): Promise<Transaction | null> {
    return liveTx(await this.run(() => this.redis.get(`tx:${state}`)), now);
  }

  async takeTransaction(state: string, now: number): Promise<Transaction | null> {
    return liveTx(await this.run(() => this.redis.fbTake(`tx:${state}`)), now);
  }

  /** ARGV shared by the epoch-checking scripts (see EPOCH_LUA). */
  private epochArgs(g: number, now: number, issuedAt: number | undefined): (string | number)[] {
    return [issuedAt === undefined ? '' : issuedAt, this.epochs.get(g) ?? '', newEpochId(), lossNotBefore(now), now];
  }

  async consumedBy(jti: string, now: number, issuedAt?: number): Promise<string | null> {
    const g = epochGroup(jti);
    const reply = await this.run(() => this.redis.fbConsumedBy(epochKey(g), markerKey(g, jti), ...this.epochArgs(g, now, issuedAt)));
    await this.afterDecision(g, reply, now);
    return reply[0] === null ? null : String(reply[0]);
  }

  async consumeToken(jti: string, deviceId: string, expiresAt: number, now: number, issuedAt?: number): Promise<ConsumeResult> {
    const g = epochGroup(jti);
    const reply = await this.run(() =>
      this.redis.fbConsume(epochKey(g), markerKey(g, jti), ...this.epochArgs(g, now, issuedAt), deviceId, expiresAt, ttl(expiresAt, now)),
    );
    await this.afterDecision(g, reply, now);
    return reply[0] as ConsumeResult;
  }

  async putInvitation(inv: Invitation): Promise<void> {
    const { usedAt, ...data } = inv;
    const key = `inv:${inv.id}`;
    await this.run(() =>
      this.redis.multi()
        .hset(key, 'data', JSON.stringify(data), 'exp', String(inv.expiresAt), 'used', usedAt === null ? '' : String(usedAt))
        .pexpire(key, ttl(inv.expiresAt, inv.createdAt))
        .exec()
        .then(checkExec),
    );
    // The index lives in another slot: written second, so an index entry without its
    // invitation (a crash between the two) is skipped on read and purged at expiry.
    const member = invMember(inv.tenantId, inv.id);
    await this.run(() =>
      this.redis.multi()
        .zadd(INV_ALL, inv.createdAt, member)
        .zadd(invTenant(inv.tenantId), inv.createdAt, member)
        .zadd(INV_EXP, inv.expiresAt, member)
        .exec()
        .then(checkExec),
    );
  }

  async getInvitation(id: string, now: number): Promise<Invitation | null> {
    const [data, used] = await this.run(() => this.redis.hmget(`inv:${id}`, 'data', 'used'));
    if (data === null) return null;
    const inv = JSON.parse(data) as Omit<Invitation, 'usedAt'>;
    if (inv.expiresAt <= now) return null;
    return { ...inv, usedAt: used ? Number(used) : null };
  }

  async useInvitation(id: string, now: number): Promise<boolean> {
    return (await this.run(() => this.redis.fbUseInvitation(`inv:${id}`, now))) === 1;
  }

  async hit(key: string, windowMs: number, now: number): Promise<number> {
    const win = Math.floor(now / windowMs);
    return this.run(() => this.redis.fbHit(`ctr:${key}:${win}`, ttl((win + 1) * windowMs, now)));
  }

  async count(key: string, windowMs: number, now: number): Promise<number> {
    return Number((await this.run(() => this.redis.get(`ctr:${key}:${Math.floor(now / windowMs)}`))) ?? 0);
  }

  async release(key: string, windowMs: number, now: number): Promise<void> {
    await this.run(() => this.redis.fbRelease(`ctr:${key}:${Math.floor(now / windowMs)}`));
  }

  async rememberAddress(subject: string, address: string, expiresAt: number, now: number): Promise<void> {
    await this.run(() => this.redis.fbRemember(`fam:${subject}`, address, expiresAt, now));
  }

  async isFamiliarAddress(subject: string, address: string, now: number): Promise<boolean> {
    const score = await this.run(() => this.redis.zscore(`fam:${subject}`, address));
    return score !== null && Number(score) > now;
  }

  async appendAudit(events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    const last = await this.run(() => this.redis.incrby(AUDIT_SEQ, events.length));
    const m = this.redis.multi();
    const touched = new Set<string>([AUDIT]);
    events.forEach((e, i) => {
      // Zero-padded so members with equal scores sort by insertion order.
      const member = `${String(last - events.length + 1 + i).padStart(16, '0')}|${JSON.stringify(e)}`;
      m.zadd(AUDIT, e.at, member);
      if (e.tenantId != null) {
        m.zadd(auditTenant(e.tenantId), e.at, member);
        if (!touched.has(auditTenant(e.tenantId))) m.sadd(AUDIT_TENANTS, e.tenantId);
        touched.add(auditTenant(e.tenantId));
      }
    });
    for (const key of touched) m.zremrangebyrank(key, 0, -(this.auditCap + 1));
    checkExec(await this.run(() => m.exec()));
  }

  async listAudit(opts: { limit: number; before?: number; tenantId?: string }): Promise<AuditEvent[]> {
    const limit = Math.max(0, Math.floor(opts.limit));
    if (limit === 0) return [];
    const key = opts.tenantId === undefined ? AUDIT : auditTenant(opts.tenantId);
    const max = opts.before === undefined ? '+inf' : `(${opts.before}`;
    const members = await this.run(() => this.redis.zrevrangebyscore(key, max, '-inf', 'LIMIT', 0, limit));
    return members.map((m) => JSON.parse(m.slice(m.indexOf('|') + 1)) as AuditEvent);
  }

  /**
   * Newest first by (at, seq): {audit}:seq numbers events, so events of one millisecond are
   * ordered too and a cursor (at, seq) continues exactly after the last event handed out.
   * A type filter is applied to chunks looked at in order (the log has no index by type).
   * A cursor that is garbage or made for another filter throws the 400 invalid_request.
   */
  async queryAudit(q: AuditQuery): Promise<{ events: StoredAuditEvent[]; nextCursor: string | null }> {
    const limit = auditPageSize(q);
    let pos = decodeAuditCursor(q);
    const key = q.tenantId === undefined ? AUDIT : auditTenant(q.tenantId);
    // Without a type filter every event looked at is a match: look at one more than the page to
    // know whether another page follows. With one, look in chunks (the script pre-filters).
    const chunk = q.type === undefined ? limit + 1 : AUDIT_SCAN_CHUNK;
    const pattern = q.type === undefined ? '' : `"type":${JSON.stringify(q.type)}`;
    const events: StoredAuditEvent[] = [];
    for (let call = 0; call < AUDIT_PAGE_CALLS; call++) {
      const [looked, last, ...members] = await this.run(() =>
        this.redis.fbAuditPage(key, pos ? pos.at : '', pos ? padSeq(pos.id) : '', q.since ?? '', chunk, pattern),
      );
      for (const m of members) {
        const e = storedAudit(m);
        if (q.type !== undefined && e.type !== q.type) continue;
        if (events.length === limit) {
          const lastEvent = events[limit - 1]!;
          return { events, nextCursor: encodeAuditCursor(q, { at: lastEvent.at, id: Number(lastEvent.id) }) };
        }
        events.push(e);
      }
      if (Number(looked) < chunk) return { events, nextCursor: null };
      const seen = storedAudit(last!);
      pos = { at: seen.at, id: Number(seen.id) };
    }
    // Looked at AUDIT_PAGE_CALLS chunks without filling the page (a type matching very few
    // events): hand back what was found and a cursor at the last event looked at.
    return { events, nextCursor: encodeAuditCursor(q, pos!) };
  }

  /**
   * Drops events older than `before` from the global log and every tenant's (the tenants are
   * listed in {audit}:tenants); returns how many left the global log.
   */
  async purgeAudit(before: number): Promise<number> {
    const removed = await this.run(() => this.redis.zremrangebyscore(AUDIT, '-inf', `(${before}`));
    const tenants = await this.run(() => this.redis.smembers(AUDIT_TENANTS));
    for (const tid of tenants) {
      await this.run(() => this.redis.fbAuditPurgeTenant(auditTenant(tid), AUDIT_TENANTS, before, tid));
    }
    return removed;
  }

  async listInvitations(opts: { tenantId?: string; now: number; limit: number }): Promise<Invitation[]> {
    const limit = listLimit(opts.limit);
    const key = opts.tenantId === undefined ? INV_ALL : invTenant(opts.tenantId);
    const out: Invitation[] = [];
    // Index entries whose invitation expired, was revoked or moved are skipped.
    for (let offset = 0; out.length < limit; offset += INV_CHUNK) {
      const members = await this.run(() => this.redis.zrevrange(key, offset, offset + INV_CHUNK - 1));
      const invs = await Promise.all(
        members.map((m) => {
          const [tid, id] = JSON.parse(m) as [string, string];
          return this.getInvitation(id, opts.now).then((inv) => (inv && inv.tenantId === tid ? inv : null));
        }),
      );
      for (const inv of invs) if (inv && out.length < limit) out.push(inv);
      if (members.length < INV_CHUNK) break;
    }
    return out;
  }

  async revokeInvitation(id: string, now: number): Promise<boolean> {
    const data = await this.run(() => this.redis.fbRevokeInvitation(`inv:${id}`, now));
    if (data === null) return false;
    const { tenantId } = JSON.parse(data) as Invitation;
    await this.dropInvitationIndex([invMember(tenantId, id)]);
    return true;
  }

  private async dropInvitationIndex(members: string[]): Promise<void> {
    if (members.length === 0) return;
    const m = this.redis.multi().zrem(INV_ALL, ...members).zrem(INV_EXP, ...members);
    for (const member of members) m.zrem(invTenant((JSON.parse(member) as [string, string])[0]), member);
    checkExec(await this.run(() => m.exec()));
  }

  async createTenant(t: { id: string; doc: Record<string, unknown>; domains: string[] }, now: number): Promise<TenantCreateResult> {
    const domains = checkTenantInput(t);
    return this.run(() => this.redis.fbTenantCreate(...TENANT_KEYS, tenantDomains(t.id), tenantLogo(t.id), t.id, JSON.stringify(t.doc), JSON.stringify(domains), now, ...domains));
  }

  async updateTenant(t: { id: string; doc: Record<string, unknown>; domains: string[] }, now: number, ifVersion?: number): Promise<TenantUpdateResult> {
    const domains = checkTenantInput(t);
    const expected = ifVersion === undefined ? '' : String(ifVersion);
    return this.run(() =>
      this.redis.fbTenantUpdate(...TENANT_KEYS, tenantDomains(t.id), t.id, JSON.stringify(t.doc), JSON.stringify(domains), now, expected, ...domains),
    );
  }

  async deleteTenant(id: string, ifVersion?: number): Promise<boolean | 'version_mismatch'> {
    const expected = ifVersion === undefined ? '' : String(ifVersion);
    const n = await this.run(() => this.redis.fbTenantDelete(...TENANT_KEYS, tenantDomains(id), tenantLogo(id), id, expected));
    return n === -1 ? 'version_mismatch' : n === 1;
  }

  async listTenants(): Promise<StoredTenant[]> {
    const results = await this.run(() =>
      this.redis.multi().hgetall(TENANT_KEYS[0]).hgetall(TENANT_KEYS[1]).hgetall(TENANT_KEYS[2]).hgetall(TENANT_KEYS[3]).exec(),
    );
    checkExec(results);
    const [docs, doms, vers, upds] = results!.map(([, v]) => v as Record<string, string>);
    return Object.keys(docs!)
      .sort()
      .map((id) => ({
        id,
        doc: parseStoredJson<Record<string, unknown>>(docs![id], {}),
        domains: parseStoredJson<string[]>(doms![id], []),
        version: Number(vers![id]),
        updatedAt: Number(upds![id]),
      }));
  }

  async tenantsRevision(): Promise<number> {
    return Number((await this.run(() => this.redis.get(TENANTS_REV))) ?? 0);
  }

  async putLogo(tenantId: string, logo: Omit<TenantLogo, 'etag'>): Promise<TenantLogo> {
    checkLogo(logo);
    const stored: TenantLogo = { contentType: logo.contentType, bytes: Buffer.from(logo.bytes), etag: newEtag() };
    const key = tenantLogo(tenantId);
    await this.run(() =>
      this.redis.multi()
        .del(key)
        .hset(key, 'ct', stored.contentType, 'etag', stored.etag, 'bytes', stored.bytes)
        .incr(TENANTS_REV)
        .exec()
        .then(checkExec),
    );
    return stored;
  }

  async getLogo(tenantId: string): Promise<TenantLogo | null> {
    const h = await this.run(() => this.redis.hgetallBuffer(tenantLogo(tenantId)));
    if (!h.ct || !h.etag || !h.bytes) return null;
    return { contentType: h.ct.toString('utf8') as TenantLogo['contentType'], etag: h.etag.toString('utf8'), bytes: h.bytes };
  }

  /**
   * Redis drops expired keys itself (PX TTLs); reads already ignore logically expired ones.
   * A user's familiar addresses share one key that lives as long as its newest member; expired
   * members are dropped whenever that user signs in again, and are never read as familiar.
   * The periodic purge checks the epochs instead.
   */
  async purgeExpired(now: number): Promise<void> {
    // Index entries of expired invitations (their hashes are gone by TTL).
    for (;;) {
      const members = await this.run(() => this.redis.zrangebyscore(INV_EXP, '-inf', now, 'LIMIT', 0, INV_CHUNK));
      await this.dropInvitationIndex(members);
      if (members.length < INV_CHUNK) break;
    }
    // Also notices a Redis emptied without a reconnect (FLUSHALL, a failover to an empty replica).
    await this.run(() => this.checkEpochs(lossNotBefore(now), now));
  }

  async ping(): Promise<void> {
    // No queueing while disconnected: /readyz is false exactly while Redis is unreachable.
    if ((this.redis as unknown as Redis).status !== 'ready') throw storeUnavailable(new Error(`Redis connection is ${(this.redis as unknown as Redis).status}`));
    await this.run(() => this.redis.ping());
  }

  /**
   * Persistence as every master reports it (docs/operations.md): AOF is what keeps consumed
   * markers across a restart; RDB snapshots alone lose the writes since the last one.
   */
  async durabilityWarnings(): Promise<string[]> {
    const nodes: Redis[] = this.cluster ? this.cluster.nodes('master') : [this.redis as unknown as Redis];
    const warnings: string[] = [];
    for (const node of nodes) {
      const where = this.cluster ? ` (${node.options.host}:${node.options.port})` : '';
      try {
        const aof = (await node.config('GET', 'appendonly')) as string[];
        const save = (await node.config('GET', 'save')) as string[];
        const fsync = (await node.config('GET', 'appendfsync')) as string[];
        if (aof[1] !== 'yes') {
          warnings.push(
            (save[1] ? `Redis${where} persists only RDB snapshots (save "${save[1]}"): a restart loses the writes since the last one.`
              : `Redis${where} has persistence off (appendonly no, save ""): a restart empties it.`) +
              ' Fedbridge then refuses every token issued before the restart at Enroll (fail closed); set appendonly yes (appendfsync everysec or always).',
          );
        } else if (fsync[1] === 'no') {
          warnings.push(`Redis${where} has appendonly yes but appendfsync no: a crash may lose recent writes; use everysec or always.`);
        }
      } catch (err) {
        warnings.push(`could not check Redis persistence${where} (CONFIG GET refused: ${(err as Error).message}); make sure appendonly is yes.`);
      }
    }
    return warnings;
  }

  async close(): Promise<void> {
    const client = this.redis as unknown as Redis;
    if (client.status === 'end') return;
    try {
      await client.quit();
    } catch {
      client.disconnect(); // QUIT fails when already disconnected
    }
  }
}

const AUDIT = '{audit}';
const AUDIT_SEQ = '{audit}:seq';
const AUDIT_TENANTS = '{audit}:tenants';
const auditTenant = (tid: string) => `{audit}:t:${tid}`;
/** With a type filter: events one queryAudit script call looks at, and calls per page at most. */
const AUDIT_SCAN_CHUNK = 2000;
const AUDIT_PAGE_CALLS = 100;
const padSeq = (seq: number) => String(seq).padStart(16, '0');
/** An {audit} member `<seq>|<event JSON>` as read back. */
function storedAudit(member: string): StoredAuditEvent {
  return { ...(JSON.parse(member.slice(17)) as AuditEvent), id: String(Number(member.slice(0, 16))) };
}
const INV_ALL = '{invitations}';
const INV_EXP = '{invitations}:exp';
const invTenant = (tid: string) => `{invitations}:t:${tid}`;
const invMember = (tid: string, id: string) => JSON.stringify([tid, id]);
const INV_CHUNK = 200;
const TENANT_KEYS = ['{tenants}:doc', '{tenants}:dom', '{tenants}:ver', '{tenants}:upd', '{tenants}:claims', '{tenants}:rev'] as const;
const TENANTS_REV = TENANT_KEYS[5];
const tenantLogo = (tid: string) => `{tenants}:logo:${tid}`;
const tenantDomains = (tid: string) => `{tenants}:ds:${tid}`;
const epochKey = (g: number) => `epoch:{m${g}}`;
const markerKey = (g: number, jti: string) => `jti:{m${g}}:${jti}`;

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
