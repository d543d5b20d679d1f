/**
 * Conformance for the Store methods behind the admin API (src/store/types.ts): paged audit,
 * audit retention, invitation listing and revocation, stored tenants with their domain claims,
 * logos and the tenants revision. Called from runStoreConformance, so SQLite, Redis, Redis
 * Cluster and Sentinel all run it against one shared store (hence unique ids and time ranges).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FedbridgeError } from '../../src/errors.js';
import type { AuditEvent, AuditQuery, Invitation, StoredAuditEvent, Store } from '../../src/store/types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const uid = (tag: string) => `${tag}-${randomUUID()}`;

function makeInvitation(now: number, over: Partial<Invitation> = {}): Invitation {
  return {
    id: uid('inv'),
    tenantId: uid('tenant'),
    upn: 'invitee@example.com',
    ownership: 2,
    createdAt: now,
    expiresAt: now + 24 * HOUR,
    usedAt: null,
    ...over,
  };
}

/** Every page of a query, following nextCursor to the end. */
async function allPages(store: Store, q: AuditQuery): Promise<{ pages: StoredAuditEvent[][]; events: StoredAuditEvent[] }> {
  const pages: StoredAuditEvent[][] = [];
  let cursor = q.cursor;
  for (let i = 0; i < 1000; i++) {
    const page = await store.queryAudit({ ...q, cursor });
    pages.push(page.events);
    if (page.nextCursor === null) return { pages, events: pages.flat() };
    cursor = page.nextCursor;
  }
  throw new Error('paging did not end');
}

/** The 400 invalid_request a bad cursor or limit must produce (the admin API passes it on). */
async function expectInvalid(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FedbridgeError);
  expect((err as FedbridgeError).status).toBe(400);
  expect((err as FedbridgeError).code).toBe('invalid_request');
}

export function adminConformance(getStore: () => Store): void {
  // A far-future time range no other test writes into (the audit log is shared).
  const futureBase = () => 2e13 + Math.floor(Math.random() * 1e9) * 1000;

  describe('queryAudit', () => {
    it('pages 250 events of one millisecond: each exactly once, newest first, with a string id', async () => {
      const store = getStore();
      const at = futureBase();
      const tenant = uid('tenant');
      const type = uid('type');
      const events: AuditEvent[] = Array.from({ length: 250 }, (_, i) => ({ at, type, tenantId: tenant, subject: `e${i}` }));
      // Several batches, so ids come from several appends.
      for (let i = 0; i < 250; i += 60) await store.appendAudit(events.slice(i, i + 60));
      const expected = events.map((e) => e.subject).reverse();
      for (const q of [
        { limit: 7, tenantId: tenant },
        { limit: 7, since: at },
        { limit: 7, since: at, type },
        { limit: 50, tenantId: tenant, type },
      ] satisfies AuditQuery[]) {
        const { pages, events: got } = await allPages(store, q);
        expect(got.map((e) => e.subject)).toEqual(expected);
        expect(new Set(got.map((e) => e.id)).size).toBe(250);
        expect(got.every((e) => typeof e.id === 'string' && e.at === at && e.type === type && e.tenantId === tenant)).toBe(true);
        // Full pages only, except the last; an exact multiple ends without an empty page.
        expect(pages.slice(0, -1).every((p) => p.length === q.limit)).toBe(true);
        expect(pages.length).toBe(Math.ceil(250 / q.limit));
      }
    });

    it('filters by tenant, type and since (inclusive) and round-trips every field', async () => {
      const store = getStore();
      const base = futureBase();
      const [tenant, other, typeA, typeB] = [uid('tenant'), uid('tenant'), uid('type'), uid('type')];
      const full: AuditEvent = {
        at: base + 3,
        type: typeA,
        tenantId: tenant,
        subject: 'user@example.com',
        ip: '192.0.2.9',
        requestId: 'req-1',
        detail: { jti: 'j-1', ownership: 1, nested: { ok: true }, list: [1, 'two'] },
      };
      await store.appendAudit([
        { at: base + 1, type: typeA, tenantId: tenant },
        { at: base + 2, type: typeB, tenantId: tenant },
        { at: base + 2, type: typeA, tenantId: other },
        full,
      ]);
      const mine = await store.queryAudit({ limit: 10, tenantId: tenant });
      expect(mine.nextCursor).toBeNull();
      expect(mine.events.map(({ id: _, ...e }) => e)).toEqual([
        full,
        { at: base + 2, type: typeB, tenantId: tenant },
        { at: base + 1, type: typeA, tenantId: tenant },
      ]);
      const a = await store.queryAudit({ limit: 10, tenantId: tenant, type: typeA });
      expect(a.events.map((e) => e.at)).toEqual([base + 3, base + 1]);
      const since = await store.queryAudit({ limit: 10, type: typeA, since: base + 2 });
      expect(since.events.map((e) => [e.at, e.tenantId])).toEqual([[base + 3, tenant], [base + 2, other]]);
      expect((await store.queryAudit({ limit: 10, type: typeA, since: base + 4 })).events).toEqual([]);
      expect(await store.queryAudit({ limit: 10, tenantId: uid('unknown') })).toEqual({ events: [], nextCursor: null });
      expect(await store.queryAudit({ limit: 10, type: uid('unknown'), since: base })).toEqual({ events: [], nextCursor: null });
    });

    it('a hostile string in an event (lone surrogate, quotes, NUL) neither hides it from a type filter nor breaks paging', async () => {
      const store = getStore();
      const at = futureBase();
      const type = uid('type');
      const hostile = ['\ud800', '"type":"x"', '\u0000', '\\ud800', '}{'];
      await store.appendAudit(hostile.map((subject, i) => ({ at: at + i, type, subject, detail: { type: 'other', s: subject } })));
      // Not of the type, though its text mentions it: in a string, and as a nested key.
      await store.appendAudit([
        { at: at + 9, type: 'other', subject: `"type":"${type}"` },
        { at: at + 8, type: 'other', detail: { type } },
      ]);
      const { events } = await allPages(store, { limit: 2, type, since: at });
      expect(events.map((e) => e.subject)).toEqual([...hostile].reverse());
    });

    it('events appended while paging do not make a page repeat or skip an older event', async () => {
      const store = getStore();
      const at = futureBase();
      const tenant = uid('tenant');
      await store.appendAudit(Array.from({ length: 10 }, (_, i) => ({ at, type: 'x', tenantId: tenant, subject: `old${i}` })));
      const first = await store.queryAudit({ limit: 4, tenantId: tenant });
      // Newer (same millisecond, later id) and older events arrive between pages.
      await store.appendAudit([
        { at, type: 'x', tenantId: tenant, subject: 'new-same-ms' },
        { at: at - 5, type: 'x', tenantId: tenant, subject: 'older' },
      ]);
      const rest = await allPages(store, { limit: 4, tenantId: tenant, cursor: first.nextCursor! });
      expect([...first.events, ...rest.events].map((e) => e.subject)).toEqual([
        ...Array.from({ length: 10 }, (_, i) => `old${9 - i}`),
        'older',
      ]);
    });

    it('refuses a garbage cursor, one of another filter, and a bad limit with 400 invalid_request', async () => {
      const store = getStore();
      const at = futureBase();
      const tenant = uid('tenant');
      await store.appendAudit([1, 2, 3].map((i) => ({ at: at + i, type: 't', tenantId: tenant })));
      const q: AuditQuery = { limit: 1, tenantId: tenant };
      const { nextCursor } = await store.queryAudit(q);
      expect(nextCursor).toEqual(expect.any(String));
      const b64 = (s: string) => Buffer.from(s).toString('base64url');
      const garbage = [
        '', 'x', '!!!', "' OR 1=1 --", 'a'.repeat(5000), '\u0000', b64('1.1.1'), b64('1.1.1.AAAAAAAAAAAA'),
        b64(`1.${at}.99999999999999999.AAAAAAAAAAAA`), b64('{"at":1}'), `${nextCursor}x`, nextCursor!.slice(1),
      ];
      for (const cursor of garbage) await expectInvalid(store.queryAudit({ ...q, cursor }));
      // A cursor continues only the query that made it.
      for (const other of [
        { limit: 1 },
        { limit: 1, tenantId: uid('tenant') },
        { limit: 1, tenantId: tenant, type: 't' },
        { limit: 1, tenantId: tenant, since: at },
      ] satisfies AuditQuery[]) {
        await expectInvalid(store.queryAudit({ ...other, cursor: nextCursor! }));
      }
      // A different page size may continue it.
      expect((await store.queryAudit({ ...q, limit: 5, cursor: nextCursor! })).events.map((e) => e.at)).toEqual([at + 2, at + 1]);
      for (const limit of [0, -1, 1.5, Number.NaN]) await expectInvalid(store.queryAudit({ limit, tenantId: tenant }));
      await expectInvalid(store.queryAudit({ limit: 1, since: Number.NaN }));
      // The store still works after all that.
      expect((await store.queryAudit(q)).events).toHaveLength(1);
    });
  });

  describe('purgeAudit', () => {
    it('deletes exactly the events older than `before`, in every view, and counts them', async () => {
      const store = getStore();
      // Far below every other test's times: only these events are old enough to go.
      const b = 5e11 + Math.floor(Math.random() * 1e6) * 1000;
      const tenant = uid('tenant');
      await store.appendAudit([
        { at: b - 1000, type: 'p', tenantId: tenant },
        { at: b - 1, type: 'p' },
        { at: b, type: 'p', tenantId: tenant },
        { at: b + 1, type: 'p', tenantId: tenant },
      ]);
      expect(await store.purgeAudit(b - 1000)).toBe(0);
      expect(await store.purgeAudit(b)).toBe(2);
      expect(await store.purgeAudit(b)).toBe(0);
      expect((await store.queryAudit({ limit: 10, tenantId: tenant })).events.map((e) => e.at)).toEqual([b + 1, b]);
      const global = await store.queryAudit({ limit: 10, since: b - 5000, type: 'p' });
      expect(global.events.map((e) => e.at).filter((at) => at < b + 1000)).toEqual([b + 1, b]);
      expect(await store.purgeAudit(b + 1)).toBe(1);
      expect((await store.queryAudit({ limit: 10, tenantId: tenant })).events.map((e) => e.at)).toEqual([b + 1]);
      // listAudit (older callers) sees the same.
      expect((await store.listAudit({ limit: 10, tenantId: tenant })).map((e) => e.at)).toEqual([b + 1]);
    });
  });

  describe('listInvitations and revokeInvitation', () => {
    it('lists live invitations of a tenant newest first (used ones too), with a limit', async () => {
      const store = getStore();
      const now = Date.now();
      const tenantId = uid('tenant');
      const a = makeInvitation(now - 3000, { tenantId });
      const b = makeInvitation(now - 2000, { tenantId, expiresAt: now + MIN });
      const c = makeInvitation(now - 1000, { tenantId });
      const elsewhere = makeInvitation(now, { tenantId: uid('tenant') });
      for (const inv of [b, a, elsewhere, c]) await store.putInvitation(inv);
      expect(await store.useInvitation(a.id, now)).toBe(true);
      expect(await store.listInvitations({ tenantId, now, limit: 10 })).toEqual([c, b, { ...a, usedAt: now }]);
      expect(await store.listInvitations({ tenantId, now, limit: 2 })).toEqual([c, b]);
      expect(await store.listInvitations({ tenantId, now, limit: 0 })).toEqual([]);
      // b has expired at its expiresAt.
      expect(await store.listInvitations({ tenantId, now: now + MIN, limit: 10 })).toEqual([c, { ...a, usedAt: now }]);
      expect(await store.listInvitations({ tenantId: uid('tenant'), now, limit: 10 })).toEqual([]);
    });

    it('lists across tenants without a tenant filter', async () => {
      const store = getStore();
      // Created far in the future: every other test's invitation has expired by then.
      const now = 2e13 + Math.floor(Math.random() * 1e9) * 1000;
      const invs = [1, 2, 3].map((i) => makeInvitation(now + i));
      for (const inv of invs) await store.putInvitation(inv);
      expect(await store.listInvitations({ now: now + 10, limit: 3 })).toEqual([...invs].reverse());
      expect(await store.listInvitations({ now: now + 10, limit: 2 })).toEqual([invs[2], invs[1]]);
    });

    it('a revoked invitation cannot be read, used or listed; revoking again or unknown ids is false', async () => {
      const store = getStore();
      const now = Date.now();
      const tenantId = uid('tenant');
      const inv = makeInvitation(now, { tenantId });
      const kept = makeInvitation(now - 1, { tenantId });
      await store.putInvitation(inv);
      await store.putInvitation(kept);
      expect(await store.revokeInvitation(inv.id, now + 1)).toBe(true);
      expect(await store.getInvitation(inv.id, now + 1)).toBeNull();
      expect(await store.useInvitation(inv.id, now + 1)).toBe(false);
      expect(await store.listInvitations({ tenantId, now: now + 1, limit: 10 })).toEqual([kept]);
      expect(await store.revokeInvitation(inv.id, now + 2)).toBe(false);
      expect(await store.revokeInvitation(uid('nope'), now)).toBe(false);
      // A used one can be revoked too.
      expect(await store.useInvitation(kept.id, now + 3)).toBe(true);
      expect(await store.revokeInvitation(kept.id, now + 4)).toBe(true);
      expect(await store.listInvitations({ tenantId, now: now + 4, limit: 10 })).toEqual([]);
    });

    it('an expired invitation is not revoked (false), and stays unusable', async () => {
      const store = getStore();
      const now = Date.now();
      const inv = makeInvitation(now, { expiresAt: now + MIN });
      await store.putInvitation(inv);
      expect(await store.revokeInvitation(inv.id, now + MIN)).toBe(false);
      expect(await store.useInvitation(inv.id, now + MIN)).toBe(false);
      expect(await store.getInvitation(inv.id, now + MIN)).toBeNull();
    });

    it('purgeExpired keeps the listing right', async () => {
      const store = getStore();
      const now = Date.now();
      const tenantId = uid('tenant');
      const short = makeInvitation(now, { tenantId, expiresAt: now + MIN });
      const long = makeInvitation(now - 1, { tenantId });
      await store.putInvitation(short);
      await store.putInvitation(long);
      await store.purgeExpired(now + 2 * MIN);
      expect(await store.listInvitations({ tenantId, now: now + 2 * MIN, limit: 10 })).toEqual([long]);
      expect(await store.listInvitations({ tenantId, now, limit: 10 })).toEqual([long]);
    });
  });

  describe('stored tenants', () => {
    const doc = (id: string, domains: string[]) => ({
      id, name: `Tenant ${id} — ü`, domains, idp: { kind: 'oidc', secret: 's3cret', scopes: ['openid'], extra: {} }, list: [],
    });
    const mine = async (store: Store, ids: string[]) => (await store.listTenants()).filter((t) => ids.includes(t.id));

    it('creates, lists (normalized domains, version 1), and refuses a taken id or domain', async () => {
      const store = getStore();
      const [a, b] = [uid('t'), uid('t')];
      const d = `${uid('d')}.example`;
      const before = await store.tenantsRevision();
      expect(await store.createTenant({ id: a, doc: doc(a, [d]), domains: [d.toUpperCase(), `${d}.`] }, 1000)).toBe('ok');
      const afterCreate = await store.tenantsRevision();
      expect(afterCreate).toBeGreaterThan(before);
      expect(await mine(store, [a])).toEqual([{ id: a, doc: doc(a, [d]), domains: [d], version: 1, updatedAt: 1000 }]);
      expect(await store.createTenant({ id: a, doc: doc(a, []), domains: [] }, 1001)).toBe('id_taken');
      expect(await store.createTenant({ id: b, doc: doc(b, []), domains: [`other.${d}`, `${d.toUpperCase()}.`] }, 1002)).toBe('domain_taken');
      // A refusal changes nothing: no tenant b, its other domain unclaimed, the revision unmoved.
      expect(await mine(store, [b])).toEqual([]);
      expect(await store.tenantsRevision()).toBe(afterCreate);
      expect(await store.createTenant({ id: b, doc: doc(b, []), domains: [`other.${d}`] }, 1003)).toBe('ok');
    });

    it('concurrent creates claiming one domain: exactly one ok', async () => {
      const store = getStore();
      const d = `${uid('race')}.example`;
      const ids = Array.from({ length: 10 }, () => uid('t'));
      const results = await Promise.all(ids.map((id, i) => store.createTenant({ id, doc: doc(id, [d]), domains: [`x${i}.${d}`, d] }, 1)));
      expect(results.filter((r) => r === 'ok')).toHaveLength(1);
      expect(results.filter((r) => r === 'domain_taken')).toHaveLength(9);
      const claimed = (await store.listTenants()).filter((t) => t.domains.includes(d));
      expect(claimed).toHaveLength(1);
      expect(claimed[0]!.id).toBe(ids[results.indexOf('ok')]);
      // The losers' own domains were not claimed either.
      const winner = results.indexOf('ok');
      const free = ids.findIndex((_, i) => i !== winner);
      const late = uid('t');
      expect(await store.createTenant({ id: late, doc: doc(late, []), domains: [`x${free}.${d}`] }, 2)).toBe('ok');
    });

    it('update replaces the doc, bumps the version, frees dropped domains and refuses taken ones', async () => {
      const store = getStore();
      const [a, b] = [uid('t'), uid('t')];
      const [d1, d2, d3] = [1, 2, 3].map((i) => `d${i}.${uid('u')}.example`);
      expect(await store.updateTenant({ id: a, doc: doc(a, []), domains: [] }, 5)).toBe('not_found');
      expect(await mine(store, [a])).toEqual([]);
      expect(await store.createTenant({ id: a, doc: doc(a, [d1, d2]), domains: [d1, d2] }, 10)).toBe('ok');
      const rev = await store.tenantsRevision();
      // Moving: keeps d2 (its own), drops d1, adds d3.
      expect(await store.updateTenant({ id: a, doc: doc(a, [d2, d3]), domains: [d2, d3] }, 20)).toBe('ok');
      expect(await store.tenantsRevision()).toBeGreaterThan(rev);
      expect(await mine(store, [a])).toEqual([{ id: a, doc: doc(a, [d2, d3]), domains: [d2, d3], version: 2, updatedAt: 20 }]);
      // d1 is free now; d3 is not.
      expect(await store.createTenant({ id: b, doc: doc(b, [d1]), domains: [d1] }, 30)).toBe('ok');
      const rev2 = await store.tenantsRevision();
      expect(await store.updateTenant({ id: b, doc: doc(b, [d1, d3]), domains: [d1, d3] }, 40)).toBe('domain_taken');
      expect(await store.tenantsRevision()).toBe(rev2);
      expect((await mine(store, [a, b])).map((t) => [t.id, t.domains, t.version]).sort()).toEqual(
        [[a, [d2, d3], 2], [b, [d1], 1]].sort(),
      );
      // Dropping every domain frees them all.
      expect(await store.updateTenant({ id: a, doc: doc(a, []), domains: [] }, 50)).toBe('ok');
      expect(await store.updateTenant({ id: b, doc: doc(b, [d1, d2, d3]), domains: [d1, d2, d3] }, 60)).toBe('ok');
      expect((await mine(store, [b]))[0]).toMatchObject({ domains: [d1, d2, d3], version: 2, updatedAt: 60 });
    });

    it('delete removes the tenant, frees its domains and drops its logo; unknown ids are false', async () => {
      const store = getStore();
      const [a, c] = [uid('t'), uid('t')];
      const d = `${uid('del')}.example`;
      expect(await store.createTenant({ id: a, doc: doc(a, [d]), domains: [d] }, 1)).toBe('ok');
      await store.putLogo(a, { contentType: 'image/png', bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47]) });
      const rev = await store.tenantsRevision();
      expect(await store.deleteTenant(a)).toBe(true);
      expect(await store.tenantsRevision()).toBeGreaterThan(rev);
      expect(await mine(store, [a])).toEqual([]);
      expect(await store.getLogo(a)).toBeNull();
      expect(await store.createTenant({ id: c, doc: doc(c, [d]), domains: [d] }, 2)).toBe('ok');
      const rev2 = await store.tenantsRevision();
      expect(await store.deleteTenant(a)).toBe(false);
      expect(await store.deleteTenant(uid('nope'))).toBe(false);
      expect(await store.tenantsRevision()).toBe(rev2);
      // The id can be created afresh, at version 1.
      expect(await store.createTenant({ id: a, doc: doc(a, []), domains: [] }, 3)).toBe('ok');
      expect((await mine(store, [a]))[0]?.version).toBe(1);
    });

    it('odd but well-formed ids and domains (quotes, braces, backslashes, emoji) round-trip, update and delete', async () => {
      const store = getStore();
      const id = `${uid('t')}{x}"\\ 🦄`;
      const d = `"🦄\\{d}".${uid('odd')}.example`;
      expect(await store.createTenant({ id, doc: doc(id, [d]), domains: [d, `[${d}]`] }, 1)).toBe('ok');
      expect(await store.updateTenant({ id, doc: doc(id, []), domains: [`[${d}]`] }, 2)).toBe('ok');
      expect(await mine(store, [id])).toEqual([{ id, doc: doc(id, []), domains: [`[${d}]`], version: 2, updatedAt: 2 }]);
      const other = uid('t');
      expect(await store.createTenant({ id: other, doc: doc(other, [d]), domains: [d] }, 3)).toBe('ok');
      expect(await store.deleteTenant(id)).toBe(true);
      expect(await store.createTenant({ id: uid('t'), doc: {}, domains: [`[${d}]`] }, 4)).toBe('ok');
    });

    it('refuses an id or domain that is not well-formed text (lone surrogate, empty) with 400 invalid_request', async () => {
      const store = getStore();
      const id = uid('t');
      const d = `${uid('ok')}.example`;
      await expectInvalid(store.createTenant({ id: `${id}\ud800`, doc: {}, domains: [] }, 1));
      await expectInvalid(store.createTenant({ id, doc: {}, domains: [`\udc00${d}`] }, 1));
      await expectInvalid(store.createTenant({ id: '', doc: {}, domains: [] }, 1));
      await expectInvalid(store.createTenant({ id, doc: {}, domains: [''] }, 1));
      expect(await mine(store, [id])).toEqual([]);
      expect(await store.createTenant({ id, doc: {}, domains: [d] }, 1)).toBe('ok');
      await expectInvalid(store.updateTenant({ id, doc: {}, domains: [`${d}\ud800`] }, 2));
      expect((await mine(store, [id]))[0]).toMatchObject({ domains: [d], version: 1 });
    });

    it('the revision strictly increases with every change', async () => {
      const store = getStore();
      const a = uid('t');
      const revs = [await store.tenantsRevision()];
      const steps: (() => Promise<unknown>)[] = [
        () => store.createTenant({ id: a, doc: doc(a, []), domains: [] }, 1),
        () => store.updateTenant({ id: a, doc: doc(a, []), domains: [`${uid('r')}.example`] }, 2),
        () => store.putLogo(a, { contentType: 'image/svg+xml', bytes: Buffer.from('<svg/>') }),
        () => store.putLogo(uid('config-tenant'), { contentType: 'image/jpeg', bytes: Buffer.from([0xff, 0xd8]) }),
        () => store.deleteTenant(a),
      ];
      for (const step of steps) {
        await step();
        revs.push(await store.tenantsRevision());
      }
      for (let i = 1; i < revs.length; i++) expect(revs[i]).toBeGreaterThan(revs[i - 1]!);
    });
  });

  describe('logos', () => {
    it('round-trips every byte value, replaces on upload with a new etag, and is per tenant', async () => {
      const store = getStore();
      const t = uid('config-tenant'); // any tenant id: config-file tenants have logos too
      expect(await store.getLogo(t)).toBeNull();
      const bytes = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 7) % 256));
      const first = await store.putLogo(t, { contentType: 'image/png', bytes });
      expect(first).toEqual({ contentType: 'image/png', bytes, etag: expect.any(String) });
      const read = await store.getLogo(t);
      expect(read?.contentType).toBe('image/png');
      expect(read?.etag).toBe(first.etag);
      expect(Buffer.compare(read!.bytes, bytes)).toBe(0);
      const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>');
      const second = await store.putLogo(t, { contentType: 'image/svg+xml', bytes: svg });
      expect(second.etag).not.toBe(first.etag);
      const again = await store.getLogo(t);
      expect(again?.contentType).toBe('image/svg+xml');
      expect(again?.etag).toBe(second.etag);
      expect(again?.bytes.equals(svg)).toBe(true);
      expect(await store.getLogo(uid('other'))).toBeNull();
    });

    it('keeps 512 KiB and refuses more, nothing, or another type (invalid_logo), leaving the old logo', async () => {
      const store = getStore();
      const t = uid('t');
      const max = Buffer.alloc(512 * 1024, 0xab);
      const kept = await store.putLogo(t, { contentType: 'image/jpeg', bytes: max });
      expect((await store.getLogo(t))?.bytes.length).toBe(512 * 1024);
      for (const logo of [
        { contentType: 'image/jpeg' as const, bytes: Buffer.alloc(512 * 1024 + 1) },
        { contentType: 'image/png' as const, bytes: Buffer.alloc(0) },
        { contentType: 'text/html' as 'image/png', bytes: Buffer.from('<script>') },
      ]) {
        const err = await store.putLogo(t, logo).then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(FedbridgeError);
        expect((err as FedbridgeError).code).toBe('invalid_logo');
      }
      expect((await store.getLogo(t))?.etag).toBe(kept.etag);
    });
  });

  describe('stored tenants: ifVersion (If-Match, docs/admin-api.md)', () => {
    const doc = (id: string, name: string) => ({ id, displayName: name });
    const one = async (store: Store, id: string) => (await store.listTenants()).find((t) => t.id === id);

    it('update and delete with ifVersion act only on that version; a mismatch changes nothing, not even the revision', async () => {
      const store = getStore();
      const a = uid('t');
      const [d1, d2] = [1, 2].map((i) => `v${i}.${uid('u')}.example`);
      expect(await store.updateTenant({ id: a, doc: doc(a, 'x'), domains: [] }, 1, 1)).toBe('not_found');
      expect(await store.createTenant({ id: a, doc: doc(a, 'one'), domains: [d1] }, 1)).toBe('ok');
      const rev = await store.tenantsRevision();
      expect(await store.updateTenant({ id: a, doc: doc(a, 'stale'), domains: [d2] }, 2, 2)).toBe('version_mismatch');
      expect(await store.deleteTenant(a, 2)).toBe('version_mismatch');
      expect(await store.tenantsRevision()).toBe(rev);
      expect(await one(store, a)).toMatchObject({ doc: doc(a, 'one'), domains: [d1], version: 1 });
      // d2 was not claimed by the refused update.
      const b = uid('t');
      expect(await store.createTenant({ id: b, doc: doc(b, 'b'), domains: [d2] }, 3)).toBe('ok');
      expect(await store.updateTenant({ id: a, doc: doc(a, 'two'), domains: [d1] }, 4, 1)).toBe('ok');
      expect(await one(store, a)).toMatchObject({ doc: doc(a, 'two'), version: 2 });
      expect(await store.updateTenant({ id: a, doc: doc(a, 'again'), domains: [d1] }, 5, 1)).toBe('version_mismatch');
      expect(await store.deleteTenant(a, 1)).toBe('version_mismatch');
      expect(await store.deleteTenant(a, 2)).toBe(true);
      expect(await one(store, a)).toBeUndefined();
      expect(await store.deleteTenant(a, 2)).toBe(false);
      // Without ifVersion: as before, whatever the version.
      expect(await store.updateTenant({ id: b, doc: doc(b, 'b2'), domains: [d2] }, 6)).toBe('ok');
      expect(await store.deleteTenant(b)).toBe(true);
    });

    it('concurrent updates with the same ifVersion: exactly one wins', async () => {
      const store = getStore();
      const a = uid('t');
      expect(await store.createTenant({ id: a, doc: doc(a, 'start'), domains: [] }, 1)).toBe('ok');
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.updateTenant({ id: a, doc: doc(a, `writer-${i}`), domains: [] }, 2 + i, 1)),
      );
      expect(results.filter((r) => r === 'ok')).toHaveLength(1);
      expect(results.filter((r) => r === 'version_mismatch')).toHaveLength(7);
      expect(await one(store, a)).toMatchObject({ doc: doc(a, `writer-${results.indexOf('ok')}`), version: 2 });
    });

    it("a new tenant starts without a logo: it never inherits one left under its id (a removed config-file tenant's)", async () => {
      const store = getStore();
      const a = uid('t');
      await store.putLogo(a, { contentType: 'image/png', bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47]) });
      // A refused create touches nothing, the logo included.
      const owner = uid('t');
      const d = `${uid('d')}.test`.toLowerCase();
      expect(await store.createTenant({ id: owner, doc: doc(owner, 'owner'), domains: [d] }, 1)).toBe('ok');
      expect(await store.createTenant({ id: a, doc: doc(a, 'clash'), domains: [d] }, 2)).toBe('domain_taken');
      expect(await store.getLogo(a)).not.toBeNull();
      expect(await store.createTenant({ id: a, doc: doc(a, 'new org'), domains: [] }, 3)).toBe('ok');
      expect(await store.getLogo(a)).toBeNull();
    });
  });
}
