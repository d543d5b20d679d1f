/**
 * Invitations in the admin API against a running service: create (with its deep link), list
 * (newest first, per tenant, used ones marked; never an accesstoken or link: they are not stored),
 * revoke (the link stops working at once). Every answer is checked against the OpenAPI document.
 */
import { expect, it } from 'vitest';
import { signIn } from '../helpers/html.js';
import { APPRU, PASSWORD, startEnrollmentService } from '../helpers/enrollment.js';
import { TestClock } from '../helpers/service.js';
import { useAdminService } from './service.js';

const clock = new TestClock();
const admin = useAdminService(() => startEnrollmentService({ clock }));

async function invite(upn: string, extra: Record<string, unknown> = {}) {
  const res = await admin.api.call('post', '/invitations', { body: { tenant: 'demo', upn, ...extra } });
  expect(res.status).toBe(201);
  return res.json as { id: string; accesstoken: string; link: string; expiresAt: string };
}

const openWindow = (accesstoken: string, hint: string) =>
  fetch(`${admin.svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: hint, accesstoken })}`);

it('lists live invitations newest first, with what is known and never the accesstoken or link', async () => {
  const a = await invite('alice@example.com', { ownership: 3 });
  clock.advance(1000);
  const b = await invite('bob@example.com', { ttlSeconds: 120 });
  const res = await admin.api.call('get', '/invitations', { query: { tenant: 'demo' } });
  expect(res.status).toBe(200);
  expect(res.json.invitations.map((i: { id: string }) => i.id)).toEqual([b.id, a.id]);
  expect(res.json.invitations[1]).toEqual({
    id: a.id,
    tenant: 'demo',
    upn: 'alice@example.com',
    ownership: 3,
    createdAt: new Date(clock.now() - 1000).toISOString(),
    expiresAt: a.expiresAt,
    usedAt: null,
    state: 'pending',
  });
  expect(res.text).not.toContain(a.accesstoken);
  expect(res.text).not.toContain('ms-device-enrollment:');
  // The document says why there is no link.
  const schema = JSON.stringify(admin.api.doc.paths['/invitations'].get.responses['200']);
  expect(schema).toContain('cannot be rebuilt');

  expect((await admin.api.call('get', '/invitations', { query: { tenant: 'other' } })).json.invitations).toEqual([]);
  expect((await admin.api.call('get', '/invitations', { query: { limit: '1' } })).json.invitations.map((i: { id: string }) => i.id)).toEqual([b.id]);

  // An expired one drops out of the list.
  clock.advance(121_000);
  const after = await admin.api.call('get', '/invitations', { query: { tenant: 'demo' } });
  expect(after.json.invitations.map((i: { id: string }) => i.id)).not.toContain(b.id);
  expect(after.json.invitations.map((i: { id: string }) => i.id)).toContain(a.id);
});

it('a used invitation is listed as used, with when', async () => {
  const inv = await invite('alice@example.com');
  const { token } = await signIn(admin.svc.url, { appru: APPRU, hint: 'alice@example.com', user: 'alice@example.com', password: PASSWORD, extra: { accesstoken: inv.accesstoken } });
  expect(token).toBeTruthy();
  const res = await admin.api.call('get', '/invitations', { query: { tenant: 'demo' } });
  expect(res.json.invitations.find((i: { id: string }) => i.id === inv.id)).toMatchObject({ state: 'used', usedAt: new Date(clock.now()).toISOString() });
});

it('revoking one stops its link at once; revoking it again, or an unknown id, is 404', async () => {
  const inv = await invite('bob@example.com');
  expect((await openWindow(inv.accesstoken, 'bob@example.com')).status).toBe(200);
  const res = await admin.api.call('delete', '/invitations/{id}', { params: { id: inv.id } });
  expect(res.status).toBe(204);
  expect(res.text).toBe('');
  const refused = await openWindow(inv.accesstoken, 'bob@example.com');
  expect(refused.status).toBe(400);
  expect(await refused.text()).toContain('invitation_invalid');
  const list = await admin.api.call('get', '/invitations');
  expect(list.json.invitations.map((i: { id: string }) => i.id)).not.toContain(inv.id);

  const again = await admin.api.call('delete', '/invitations/{id}', { params: { id: inv.id } });
  expect(again.status).toBe(404);
  expect(again.json.error).toBe('not_found');
  expect((await admin.api.call('delete', '/invitations/{id}', { params: { id: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } })).status).toBe(404);
});
