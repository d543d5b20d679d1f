/**
 * The admin API's request checks after the token: one 400 `invalid_request` listing EVERY problem
 * with its path (params.…, query.…, body.…), in `errors` and in the description; a body that is
 * not JSON, of another type, or over 16 KiB is refused without echoing it. Every answer is
 * checked against the OpenAPI document.
 */
import { expect, it } from 'vitest';
import { startEnrollmentService } from '../helpers/enrollment.js';
import { useAdminService } from './service.js';

const admin = useAdminService(() => startEnrollmentService());

const paths = (json: { errors: Array<{ path: string }> }) => json.errors.map((e) => e.path).sort();

it('a body with five problems gets all five, each with its path', async () => {
  const res = await admin.api.call('post', '/invitations', { body: { tenant: 5, upn: 'a', ownership: 'three', extra: 1, 'other\u0007key': true } });
  expect(res.status).toBe(400);
  expect(res.json.error).toBe('invalid_request');
  expect(paths(res.json)).toEqual(['body.extra', 'body.other?key', 'body.ownership', 'body.tenant', 'body.upn']);
  for (const e of res.json.errors) expect(res.json.error_description).toContain(`${e.path}: ${e.message}`);
  expect(res.json.errors.find((e: { path: string }) => e.path === 'body.extra').message).toBe('unknown field');
});

it('query problems are all listed too (a bad limit, since, cursor and an unknown parameter)', async () => {
  const res = await admin.api.call('get', '/audit', { query: { limit: '0', since: 'yesterday', cursor: 'a b', bogus: '1', type: 'x'.repeat(101) } });
  expect(res.status).toBe(400);
  expect(paths(res.json)).toEqual(['query.bogus', 'query.cursor', 'query.limit', 'query.since', 'query.type']);
  const limit = await admin.api.call('get', '/invitations', { query: { limit: '1001' } });
  expect(paths(limit.json)).toEqual(['query.limit']);
});

it('path parameters are checked, with the body, in the same answer', async () => {
  const res = await admin.api.call('delete', '/invitations/{id}', { params: { id: 'not/an id' } });
  expect(res.status).toBe(400);
  expect(paths(res.json)).toEqual(['params.id']);
  const long = await admin.api.call('post', '/tenants/{id}/idp/test', { params: { id: 'x'.repeat(65) } });
  expect(paths(long.json)).toEqual(['params.id']);
});

it('no body where one is needed: 400 at body', async () => {
  const res = await admin.api.call('post', '/invitations');
  expect(res.status).toBe(400);
  expect(paths(res.json)).toEqual(['body']);
});

it('broken JSON: 400 at body, without quoting it', async () => {
  const res = await admin.api.call('post', '/invitations', { raw: { contentType: 'application/json', bytes: '{"tenant":"demo","upn":"s3cr3t-looking-value' } });
  expect(res.status).toBe(400);
  expect(res.json.errors).toEqual([{ path: 'body', message: 'not a JSON object or array' }]);
  expect(res.text).not.toContain('s3cr3t');
});

it('another content type: 415; over 16 KiB: 413', async () => {
  const form = await admin.api.call('post', '/invitations', { raw: { contentType: 'application/x-www-form-urlencoded', bytes: 'tenant=demo&upn=a%40example.com' } });
  expect(form.status).toBe(415);
  expect(form.json.error).toBe('unsupported_media_type');
  const big = await admin.api.call('post', '/invitations', { body: { tenant: 'demo', upn: 'alice@example.com', servername: 'x'.repeat(17 * 1024) } });
  expect(big.status).toBe(413);
  expect(big.json.error).toBe('request_too_large');
});

it('a valid request passes (the same operation answers 201)', async () => {
  const res = await admin.api.call('post', '/invitations', { body: { tenant: 'demo', upn: 'alice@example.com' } });
  expect(res.status).toBe(201);
  expect(res.json.link).toMatch(/^ms-device-enrollment:\?mode=mdm&username=alice%40example\.com&/);
});
