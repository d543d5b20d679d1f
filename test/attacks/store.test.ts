/**
 * Attacks through the shared store (docs/admin-api.md "Tenants", docs/operations.md "Audit log"):
 * tenant rows written there directly (by hand, another version, a broken write) must not take
 * the other tenants down on any instance sharing the store, and audit filters and cursors take
 * what they are given literally, on SQLite and on Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import { ADMIN_TOKEN, baseFile, localTenant, startWithFile, type Running } from '../tenants/helpers.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
const good = (id: string) => ({ id, displayName: `Good ${id}`, domains: [`${id}.test`], idp: { kind: 'oidc', issuer: `https://idp.${id}.test`, clientId: 'c', clientSecret: 'store-attack-secret-000' } });

async function create(svc: Running, doc: unknown): Promise<number> {
  return (await fetch(`${svc.url}/admin/api/v1/tenants`, { method: 'POST', headers: auth, body: JSON.stringify(doc) })).status;
}
async function ids(svc: Running): Promise<string[]> {
  const res = await fetch(`${svc.url}/admin/api/v1/tenants`, { headers: auth });
  expect(res.status).toBe(200);
  return ((await res.json()) as { tenants: Array<{ id: string }> }).tenants.map((t) => t.id);
}

/** Hostile rows: [id, doc text, domains text]. */
const HOSTILE: Array<[string, string, string]> = [
  ['broken-json', '{"id":"broken-json",', '["broken.test"]'],
  ['not-an-object', 'null', '["null.test"]'],
  ['other-id', JSON.stringify(good('filecorp')), '["other.test"]'],
  ['takes-file', JSON.stringify({ ...good('takes-file'), domains: ['contoso.test'] }), '["contoso.test"]'],
  ['proto', '{"__proto__":{"polluted":1},"id":"proto","displayName":"P","domains":["proto.test"],"idp":{"kind":"oidc","issuer":"https://i.test","clientId":"c"}}', '["proto.test"]'],
  ['bad-domains', JSON.stringify(good('bad-domains')), '{not json'],
  // A file on the host (here the SP key and certificate) is the config file's alone (src/tenants/validate.ts).
  [
    'host-file',
    JSON.stringify({ id: 'host-file', displayName: 'H', domains: ['hostfile.test'], idp: { kind: 'saml', metadataUrl: 'https://idp.hostfile.test/md', spKeyFile: '/etc/hostname', spCertFile: '/etc/hostname' } }),
    '["hostfile.test"]',
  ],
];

describe('hostile tenant rows in a shared SQLite store', () => {
  let a: Running;
  let b: Running | undefined;
  beforeAll(async () => {
    a = await startWithFile(baseFile({ tenants: [localTenant('contoso', 'contoso.test', 'pw-contoso-1')] }), { tenantPollMs: 0 });
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('are skipped: the instance keeps serving, and a new instance starts with every good store tenant', async () => {
    expect(await create(a, good('alpha'))).toBe(201);
    const db = new Database(join(a.dir, 'db.sqlite'));
    try {
      const insert = db.prepare('INSERT INTO tenants (id, doc, domains, version, updated_at) VALUES (?, ?, ?, 1, 0)');
      for (const [id, doc, domains] of HOSTILE) insert.run(id, doc, domains);
      db.prepare('UPDATE tenants_revision SET rev = rev + 1').run();
    } finally {
      db.close();
    }
    await a.service.deps.directory.refresh();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const seen = await ids(a);
    expect(seen).toEqual(expect.arrayContaining(['contoso', 'alpha']));
    for (const [id] of HOSTILE) if (id !== 'bad-domains') expect(seen).not.toContain(id);
    // A valid document is judged on its own: an unreadable domains column does not hide it.
    expect(seen).toContain('bad-domains');
    // Writes through the API still work (and see the store again).
    expect(await create(a, good('beta'))).toBe(201);
    // The unreadable row is repaired by a PUT of its id (docs/admin-api.md).
    const put = await fetch(`${a.url}/admin/api/v1/tenants/broken-json`, { method: 'PUT', headers: auth, body: JSON.stringify(good('broken-json')) });
    expect(put.status).toBe(200);
    expect(await ids(a)).toContain('broken-json');
    expect(await ids(a)).toEqual(expect.arrayContaining(['alpha', 'beta']));

    // Another instance on the same file starts with the good store tenants.
    b = await startWithFile(baseFile({ store: { kind: 'sqlite', path: join(a.dir, 'db.sqlite') }, tenants: [localTenant('contoso', 'contoso.test', 'pw-contoso-1')] }), { tenantPollMs: 0 });
    expect(await ids(b)).toEqual(expect.arrayContaining(['contoso', 'alpha', 'beta']));
    expect(b.logs.some((l) => String(l.msg).includes('store tenant not-an-object skipped'))).toBe(true);
    expect(b.logs.some((l) => String(l.msg).includes('store tenant host-file skipped') && String(l.msg).includes('idp.spKeyFile: files on the server'))).toBe(true);
  }, 60_000);
});

describe('hostile tenant rows in a shared Redis store', () => {
  let redis: TestRedis;
  let a: Running;
  let b: Running | undefined;
  beforeAll(async () => {
    redis = await startRedis();
    a = await startWithFile(baseFile({ store: { kind: 'redis', url: redis.url }, tenants: [localTenant('contoso', 'contoso.test', 'pw-contoso-1')] }), { tenantPollMs: 0 });
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await redis?.stop();
  });

  it('are skipped: the instance keeps serving, and a new instance starts with every good store tenant', async () => {
    expect(await create(a, good('alpha'))).toBe(201);
    const raw = new Redis(redis.url);
    try {
      for (const [id, doc, domains] of HOSTILE) {
        await raw.hset('fedbridge:{tenants}:doc', id, doc);
        await raw.hset('fedbridge:{tenants}:dom', id, domains);
        await raw.hset('fedbridge:{tenants}:ver', id, '1');
        await raw.hset('fedbridge:{tenants}:upd', id, '0');
      }
      await raw.incr('fedbridge:{tenants}:rev');
    } finally {
      raw.disconnect();
    }
    await a.service.deps.directory.refresh();
    const seen = await ids(a);
    expect(seen).toEqual(expect.arrayContaining(['contoso', 'alpha']));
    for (const [id] of HOSTILE) if (id !== 'bad-domains') expect(seen).not.toContain(id);
    // A valid document is judged on its own: an unreadable domains column does not hide it.
    expect(seen).toContain('bad-domains');
    expect(await create(a, good('beta'))).toBe(201);
    b = await startWithFile(baseFile({ store: { kind: 'redis', url: redis.url }, tenants: [localTenant('contoso', 'contoso.test', 'pw-contoso-1')] }), { tenantPollMs: 0 });
    expect(await ids(b)).toEqual(expect.arrayContaining(['contoso', 'alpha', 'beta']));
  }, 60_000);

  it('two instances racing to create tenants with one domain (any case): exactly one wins', async () => {
    const other = b!;
    const tries = Array.from({ length: 10 }, (_, i) => create(i % 2 ? a : other, { ...good(`racer${i}`), domains: [i % 3 ? 'Race.Test' : 'race.test', `own${i}.test`] }));
    const statuses = await Promise.all(tries);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(9);
    // The losers claimed nothing: their own domains are free.
    const winner = statuses.indexOf(201);
    const loser = winner === 0 ? 1 : 0;
    expect(await create(a, { ...good(`late${loser}`), domains: [`own${loser}.test`] })).toBe(201);
    await a.service.deps.directory.refresh();
    await other.service.deps.directory.refresh();
    for (const svc of [a, other]) {
      const owners = [...svc.service.deps.directory.current().tenants.values()].filter((e) => e.config.domains.includes('race.test'));
      expect(owners.map((e) => e.config.id)).toEqual([`racer${winner}`]);
    }
  }, 60_000);
});

describe('audit filters and cursors are taken literally', () => {
  const stores: Array<[string, () => Promise<{ store: Store; close(): Promise<void> }>]> = [
    [
      'sqlite',
      async () => {
        const { mkdtempSync, rmSync } = await import('node:fs');
        const { tmpdir } = await import('node:os');
        const dir = mkdtempSync(join(tmpdir(), 'fedbridge-attack-audit-'));
        const store = await openStore({ kind: 'sqlite', path: join(dir, 'db.sqlite') });
        return { store, close: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
      },
    ],
    [
      'redis',
      async () => {
        const r = await startRedis();
        const store = await openStore({ kind: 'redis', url: r.url });
        return { store, close: async () => (await store.close(), await r.stop()) };
      },
    ],
  ];

  for (const [name, open] of stores) {
    it(`${name}: pattern characters in type and tenant filters match only themselves; forged cursors are 400`, async () => {
      const { store, close } = await open();
      try {
        const now = Date.now();
        const types = ['signin.ok', 'signinXok', 'a%b', 'a_b', 'a*b', 'a.b', 'q"x', 'q\\x', 'lua%s', '[ab]', 'a', 'signin.ok"}'];
        await store.appendAudit(types.map((type, i) => ({ at: now + i, type, tenantId: i % 2 ? 't%' : 't_', detail: { type: 'signin.ok' } })));
        for (const t of types) {
          const page = await store.queryAudit({ limit: 100, type: t });
          expect(page.events.map((e) => e.type), t).toEqual([t]);
        }
        for (const t of ['%', '_', '*', '.*', 'signin.%', 'signin_ok', '?', '', 'signin']) {
          const page = await store.queryAudit({ limit: 100, type: t || 'x' });
          expect(page.events.filter((e) => e.type !== (t || 'x')), t).toEqual([]);
        }
        expect((await store.queryAudit({ limit: 100, tenantId: '%' })).events).toEqual([]);
        expect((await store.queryAudit({ limit: 100, tenantId: 't_' })).events.every((e) => e.tenantId === 't_')).toBe(true);

        // A cursor of one query does not continue another; a re-dated one is refused.
        const first = await store.queryAudit({ limit: 2, tenantId: 't_' });
        expect(first.nextCursor).not.toBeNull();
        await expect(store.queryAudit({ limit: 2, tenantId: 't%', cursor: first.nextCursor! })).rejects.toMatchObject({ status: 400 });
        const text = Buffer.from(first.nextCursor!, 'base64url').toString();
        const forged = Buffer.from(text.replace(/^1\.(\d+)\./, (_m, at) => `1.${Number(at) + 1}0.`)).toString('base64url');
        // Re-dated with a valid shape: a cursor names a position, and this one still carries its filter's tag.
        // It may page from there, but never outside the filter.
        const page = await store.queryAudit({ limit: 100, tenantId: 't_', cursor: forged }).catch((e) => e);
        if (!(page instanceof Error)) expect(page.events.every((e: { tenantId?: string }) => e.tenantId === 't_')).toBe(true);
        for (const bad of [`${first.nextCursor}=`, `${first.nextCursor}A`, 'x'.repeat(201), '../../etc', first.nextCursor!.slice(1)]) {
          await expect(store.queryAudit({ limit: 2, tenantId: 't_', cursor: bad }), bad).rejects.toMatchObject({ status: 400 });
        }
      } finally {
        await close();
      }
    }, 60_000);
  }
});
