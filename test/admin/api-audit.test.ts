/**
 * The audit log in the admin API against a running service: paging newest first with nextCursor
 * across many events of one millisecond (never a skip or a repeat), filters, the JSON-lines
 * export equal to the paged query, and every admin call audited (type admin.<operationId>,
 * request id, address, status) without the token or the body. Every answer is checked against
 * the OpenAPI document.
 */
import { expect, it } from 'vitest';
import { ADMIN_TOKEN, startEnrollmentService } from '../helpers/enrollment.js';
import { TestClock } from '../helpers/service.js';
import { useAdminService } from './service.js';

const clock = new TestClock(Date.parse('2026-11-30T01:00:00.000Z'));
const admin = useAdminService(() => startEnrollmentService({ clock }));

type Ev = { id: string; at: string; type: string; tenant: string | null; subject: string | null; detail: Record<string, unknown> };

/** Every page of a query, following nextCursor. */
async function pages(query: Record<string, string>): Promise<{ events: Ev[]; calls: number }> {
  const events: Ev[] = [];
  let cursor: string | undefined;
  let calls = 0;
  do {
    const res = await admin.api.call('get', '/audit', { query: { ...query, cursor } });
    expect(res.status).toBe(200);
    calls++;
    events.push(...res.json.events);
    cursor = res.json.nextCursor ?? undefined;
    expect(calls).toBeLessThan(100);
  } while (cursor);
  return { events, calls };
}

it('pages through 23 events of one millisecond, newest first, each exactly once', async () => {
  const at = clock.now() - 5000;
  await admin.svc.service.deps.store.appendAudit(
    Array.from({ length: 23 }, (_, i) => ({ at, type: 'test.same-ms', tenantId: i % 2 ? 'demo' : 'other', subject: `user${i}@example.com`, detail: { n: i } })),
  );
  await admin.svc.service.deps.store.appendAudit([{ at: at - 1, type: 'test.same-ms', tenantId: 'demo', subject: 'older@example.com', detail: { n: -1 } }]);
  const { events, calls } = await pages({ type: 'test.same-ms', limit: '5' });
  expect(calls).toBe(5);
  expect(events).toHaveLength(24);
  expect(new Set(events.map((e) => e.id)).size).toBe(24);
  expect(new Set(events.map((e) => e.detail.n))).toEqual(new Set([-1, ...Array.from({ length: 23 }, (_, i) => i)]));
  expect(events.at(-1)!.detail.n).toBe(-1); // the older one last
  expect(events.slice(0, 23).every((e) => e.at === new Date(at).toISOString())).toBe(true);

  const demo = await pages({ type: 'test.same-ms', tenant: 'demo', limit: '4' });
  expect(demo.events.map((e) => e.tenant)).toEqual(Array(12).fill('demo'));
  const since = await pages({ type: 'test.same-ms', since: new Date(at).toISOString() });
  expect(since.events).toHaveLength(23);
  expect((await pages({ type: 'test.same-ms', since: String(at - 1) })).events).toHaveLength(24);
});

it('the export is the paged query, as JSON lines newest first', async () => {
  const paged = await pages({ type: 'test.same-ms', limit: '7' });
  const res = await admin.api.call('get', '/audit/export', { query: { type: 'test.same-ms' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
  expect(res.lines).toEqual(paged.events);
  const demo = await admin.api.call('get', '/audit/export', { query: { type: 'test.same-ms', tenant: 'demo' } });
  expect(demo.lines).toEqual((await pages({ type: 'test.same-ms', tenant: 'demo' })).events);
});

it('the export streams more than one store page (over 500 events)', async () => {
  const at = clock.now() - 4000;
  await admin.svc.service.deps.store.appendAudit(Array.from({ length: 1234 }, (_, i) => ({ at: at + (i % 3), type: 'test.bulk', detail: { n: i } })));
  const res = await admin.api.call('get', '/audit/export', { query: { type: 'test.bulk' } });
  expect(res.lines).toHaveLength(1234);
  expect(new Set(res.lines.map((e: Ev) => e.id)).size).toBe(1234);
  expect(res.lines).toEqual((await pages({ type: 'test.bulk', limit: '1000' })).events);
});

it('a cursor that is not one this query handed out is a 400 at query.cursor', async () => {
  const first = await admin.api.call('get', '/audit', { query: { type: 'test.same-ms', limit: '2' } });
  const other = await admin.api.call('get', '/audit', { query: { type: 'test.bulk', cursor: first.json.nextCursor } });
  expect(other.status).toBe(400);
  expect(other.json.errors.map((e: { path: string }) => e.path)).toEqual(['query.cursor']);
  const garbage = await admin.api.call('get', '/audit', { query: { cursor: 'AAAA' } });
  expect(garbage.status).toBe(400);
  expect(garbage.json.errors.map((e: { path: string }) => e.path)).toEqual(['query.cursor']);
});

it('every authenticated admin call is audited as admin.<operationId> with request id, address and status; never the token or body', async () => {
  const refused = await fetch(`${admin.svc.url}/admin/api/v1/invitations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer not-the-token-0123456789', 'x-request-id': 'audit-test-401-call' },
    body: JSON.stringify({ tenant: 'demo', upn: 'body-marker@example.com' }),
  });
  expect(refused.status).toBe(401);
  const bad = await admin.api.call('post', '/invitations', { body: { tenant: 'demo', upn: 'x', marker: 'body-marker-2' } });
  expect(bad.status).toBe(400);
  const ok = await admin.api.call('post', '/invitations', { body: { tenant: 'demo', upn: 'alice@example.com' } });
  expect(ok.status).toBe(201);
  const keys = await admin.api.call('get', '/keys');

  const created = (await pages({ type: 'admin.createInvitation' })).events;
  const byRequest = new Map(created.map((e) => [(e as Ev & { requestId: string }).requestId, e]));
  // Without the right token: logged, not audited (docs/admin-admin.api.md, Authentication).
  expect(byRequest.has('audit-test-401-call')).toBe(false);
  expect(byRequest.get(bad.headers.get('x-request-id')!)).toMatchObject({ detail: { status: 400 } });
  expect(byRequest.get(ok.headers.get('x-request-id')!)).toMatchObject({ tenant: 'demo', detail: { status: 201 } });
  const listed = (await pages({ type: 'admin.listKeys' })).events;
  expect(listed.map((e) => (e as Ev & { requestId: string }).requestId)).toContain(keys.headers.get('x-request-id'));
  // The invitation's own event names the user; the admin events name neither token nor body.
  expect((await pages({ type: 'invitation.created' })).events[0]).toMatchObject({ subject: 'alice@example.com', tenant: 'demo' });

  const all = await admin.api.call('get', '/audit/export');
  expect(all.text).not.toContain(ADMIN_TOKEN);
  expect(all.text).not.toContain('not-the-token');
  expect(all.text).not.toContain('body-marker');
  expect(all.text).not.toContain(ok.json.accesstoken);
});
