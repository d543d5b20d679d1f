/**
 * The tenants operations (src/actions/admin/tenants.ts) as built by the admin API's table: each
 * one called on a running service, every answer (successes, 400s of both kinds, 404, 409, 413,
 * 415) checked against the generated OpenAPI document.
 */
import { expect, it } from 'vitest';
import { startEnrollmentService } from '../helpers/enrollment.js';
import { useAdminService } from './service.js';

const admin = useAdminService(() => startEnrollmentService());

const lab = (extra: Record<string, unknown> = {}) => ({
  id: 'lab',
  displayName: 'Lab',
  domains: ['lab.test'],
  idp: { kind: 'oidc', issuer: 'https://idp.lab.test', clientId: 'fedbridge', clientSecret: 'lab-client-secret-0123456789' },
  ...extra,
});
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array(64).fill(0)]);

it('create, list, get, replace, logo, delete: each answer as documented', async () => {
  const created = await admin.api.call('post', '/tenants', { body: lab() });
  expect(created.status, created.text).toBe(201);
  expect(created.text).not.toContain('lab-client-secret');
  expect((await admin.api.call('post', '/tenants', { body: lab() })).status).toBe(409);

  const list = await admin.api.call('get', '/tenants');
  expect(list.json.tenants.map((t: { id: string }) => t.id)).toEqual(['demo', 'lab']);
  expect((await admin.api.call('get', '/tenants/{id}', { params: { id: 'lab' } })).json).toMatchObject({ id: 'lab', version: 1 });
  expect((await admin.api.call('get', '/tenants/{id}', { params: { id: 'ghost' } })).status).toBe(404);

  const replaced = await admin.api.call('put', '/tenants/{id}', { params: { id: 'lab' }, body: lab({ displayName: 'Lab 2' }) });
  expect(replaced.status, replaced.text).toBe(200);
  expect(replaced.json).toMatchObject({ version: 2, tenant: { displayName: 'Lab 2' } });
  expect((await admin.api.call('put', '/tenants/{id}', { params: { id: 'demo' }, body: { displayName: 'x' } })).status).toBe(409);

  const logo = await admin.api.call('put', '/tenants/{id}/logo', { params: { id: 'lab' }, raw: { contentType: 'image/png', bytes: PNG } });
  expect(logo.status, logo.text).toBe(200);
  const notPng = await admin.api.call('put', '/tenants/{id}/logo', { params: { id: 'lab' }, raw: { contentType: 'image/png', bytes: 'GIF89a' } });
  expect(notPng.status).toBe(400);
  expect(notPng.json.error).toBe('invalid_logo');
  const gif = await admin.api.call('put', '/tenants/{id}/logo', { params: { id: 'lab' }, raw: { contentType: 'image/gif', bytes: 'GIF89a' } });
  expect(gif.status).toBe(415);
  const big = await admin.api.call('put', '/tenants/{id}/logo', { params: { id: 'lab' }, raw: { contentType: 'image/png', bytes: new Uint8Array(600 * 1024) } });
  expect(big.status).toBe(413);
  // A path problem on the same operation is the validation 400, also as documented.
  const longId = await admin.api.call('put', '/tenants/{id}/logo', { params: { id: 'x'.repeat(65) }, raw: { contentType: 'image/png', bytes: PNG } });
  expect(longId.status).toBe(400);
  expect(longId.json.errors.map((e: { path: string }) => e.path)).toEqual(['params.id']);

  expect((await admin.api.call('delete', '/tenants/{id}', { params: { id: 'demo' } })).status).toBe(409);
  expect((await admin.api.call('delete', '/tenants/{id}', { params: { id: 'lab' } })).status).toBe(204);
  expect((await admin.api.call('delete', '/tenants/{id}', { params: { id: 'lab' } })).status).toBe(404);
});

it("a refused tenant lists every problem with its body path", async () => {
  const res = await admin.api.call('post', '/tenants', { body: { id: 'bad', domains: 'nope', idp: { kind: 'oidc' } } });
  expect(res.status).toBe(400);
  expect(res.json.error).toBe('invalid_request');
  const paths = res.json.errors.map((e: { path: string }) => e.path);
  expect(paths.length).toBeGreaterThanOrEqual(3);
  for (const p of paths) expect(p).toMatch(/^body(\.|$)/);
});
