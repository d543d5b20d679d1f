/**
 * Two instances sharing one real Redis: a tenant created through instance A's admin API signs a
 * user in on instance B, picked up by B's own one-second poll (no call on B makes it look);
 * deleting it through A stops sign-ins on B. The propagation time is printed, not asserted
 * (the machine is shared: docs/admin-api.md states the bound).
 */
import { expect, it } from 'vitest';
import { signIn } from '../helpers/html.js';
import { useTwoOnRedis } from '../helpers/on-redis.js';
import { AdminClient } from '../admin/openapi-check.js';
import { APPRU, baseFile, eventually, localTenant, startWithFile } from './helpers.js';

const two = useTwoOnRedis((url) => startWithFile(baseFile({ store: { kind: 'redis', url }, tenants: [localTenant('contoso', 'contoso.test', 'pw-contoso-1')] })));

it('a tenant created on A signs in on B; deleting it on A stops sign-ins on B', async () => {
  const apiA = await AdminClient.open(two.a.url);
  const apiB = await AdminClient.open(two.b.url);
  const generationB = two.b.service.deps.directory.current().generation;
  const known = async () => (await apiB.call('get', '/tenants/{id}', { params: { id: 'fabrikam' } })).status === 200;
  expect(await known()).toBe(false);

  const created = await apiA.call('post', '/tenants', { body: localTenant('fabrikam', 'fabrikam.test', 'pw-fabrikam-1') });
  expect(created.status).toBe(201);
  const t0 = Date.now();
  expect(await eventually(known, 30_000)).toBe(true);
  console.log(`tenant created on A known on B after ${Date.now() - t0} ms`);
  expect(two.b.service.deps.directory.current().generation).toBeGreaterThan(generationB);
  const viaB = await signIn(two.b.url, { appru: APPRU, hint: 'user@fabrikam.test', user: 'user@fabrikam.test', password: 'pw-fabrikam-1' });
  expect(viaB.token).toBeTruthy();
  expect(JSON.parse(Buffer.from(viaB.token!.split('.')[1], 'base64url').toString()).tid).toBe('fabrikam');
  // B sees the same document, as A wrote it, and as read-write.
  expect((await apiB.call('get', '/tenants/{id}', { params: { id: 'fabrikam' } })).json).toMatchObject({ source: 'store', version: 1, readOnly: false });

  // The domain is claimed across instances: B refuses it for another tenant.
  const clash = await apiB.call('post', '/tenants', { body: localTenant('other', 'fabrikam.test', 'pw-other-123') });
  expect(clash.status).toBe(409);

  expect((await apiA.call('delete', '/tenants/{id}', { params: { id: 'fabrikam' } })).status).toBe(204);
  const t1 = Date.now();
  expect(await eventually(async () => !(await known()), 30_000)).toBe(true);
  console.log(`tenant deleted on A gone on B after ${Date.now() - t1} ms`);
  const refused = await signIn(two.b.url, { appru: APPRU, hint: 'user@fabrikam.test', user: 'user@fabrikam.test', password: 'pw-fabrikam-1' });
  expect(refused.token).toBeNull();
  // The file tenant was never disturbed.
  const still = await signIn(two.b.url, { appru: APPRU, hint: 'user@contoso.test', user: 'user@contoso.test', password: 'pw-contoso-1' });
  expect(still.token).toBeTruthy();
}, 120_000);

it('the same domain or id created at once on A and on B: exactly one wins, the other gets 409', async () => {
  const apiA = await AdminClient.open(two.a.url);
  const apiB = await AdminClient.open(two.b.url);
  for (const round of [1, 2, 3]) {
    const [x, y] = await Promise.all([
      apiA.call('post', '/tenants', { body: localTenant(`race-a${round}`, `race${round}.test`, 'pw-race-1234') }),
      apiB.call('post', '/tenants', { body: localTenant(`race-b${round}`, `race${round}.test`, 'pw-race-1234') }),
    ]);
    expect([x.status, y.status].sort()).toEqual([201, 409]);
    const [p, q] = await Promise.all([
      apiA.call('post', '/tenants', { body: localTenant(`same${round}`, `same-a${round}.test`, 'pw-race-1234') }),
      apiB.call('post', '/tenants', { body: localTenant(`same${round}`, `same-b${round}.test`, 'pw-race-1234') }),
    ]);
    expect([p.status, q.status].sort()).toEqual([201, 409]);
  }
  const stored = await two.a.service.deps.store.listTenants();
  expect(stored.filter((t) => t.id.startsWith('race-'))).toHaveLength(3);
  expect(stored.filter((t) => t.id.startsWith('same'))).toHaveLength(3);
}, 120_000);

it('while the store is unreachable the running tenants stay, the failure is logged once, and the poll recovers', async () => {
  const apiA = await AdminClient.open(two.a.url);
  expect((await apiA.call('post', '/tenants', { body: localTenant('outage', 'outage.test', 'pw-outage-12') })).status).toBe(201);
  expect(await eventually(async () => two.b.service.deps.directory.current().tenants.has('outage'), 30_000)).toBe(true);
  const failed = () => two.b.logs.filter((l) => l.msg === 'store tenants could not be read; keeping the running tenants').length;
  const snapshot = two.b.service.deps.directory.current();

  await two.redis.stop();
  expect(await eventually(async () => failed() >= 1, 30_000)).toBe(true);
  await new Promise((r) => setTimeout(r, 2500)); // more polls fail: still one line
  expect(failed()).toBe(1);
  expect(two.b.service.deps.directory.current()).toBe(snapshot);

  await two.redis.restart();
  expect(await eventually(async () => two.b.logs.some((l) => l.msg === 'store tenants readable again'), 60_000)).toBe(true);
}, 180_000);
