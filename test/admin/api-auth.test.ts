/**
 * The admin API's bearer check, for EVERY operation of the table (a new operation cannot forget
 * it): a missing, wrong or malformed token gets 401 with `{"error":"unauthorized"}` and nothing
 * else, before any body is read (a broken or oversized body does not change the answer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminOperations } from '../../src/actions/admin/index.js';
import { ADMIN_TOKEN, startEnrollmentService } from '../helpers/enrollment.js';
import type { TestService } from '../helpers/service.js';
import { AdminClient } from './openapi-check.js';

let svc: TestService;
let api: AdminClient;
beforeAll(async () => {
  // Hundreds of wrong tokens from one address: the limit on them has its own test (api-token-limit).
  svc = await startEnrollmentService({ extra: { limits: { adminTokenPerIp: 0 } } });
  api = await AdminClient.open(svc.url);
}, 60_000);
afterAll(() => svc?.close());

const BAD_AUTH: Array<[string, string | null]> = [
  ['missing', null],
  ['wrong', 'Bearer wrong-token-0123456789abcdef'],
  ['the token plus one character', `Bearer ${ADMIN_TOKEN}x`],
  ['the token less one character', `Bearer ${ADMIN_TOKEN.slice(0, -1)}`],
  ['no scheme', ADMIN_TOKEN],
  ['Basic scheme', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`],
  ['Bearer without a token', 'Bearer'],
  ['two tokens', `Bearer ${ADMIN_TOKEN} ${ADMIN_TOKEN}`],
  ['empty', ''],
];

describe('every operation of the table', () => {
  it('is in the published document, and the document lists nothing else', () => {
    const table = adminOperations().map((o) => `${o.method} ${o.path}`).sort();
    const doc = api.operations().map((o) => `${o.method} ${o.path}`).sort();
    expect(doc).toEqual(table);
    expect(table.length).toBeGreaterThanOrEqual(8);
  });

  for (const op of adminOperations()) {
    it(`${op.method.toUpperCase()} ${op.path} (${op.operationId}): 401 with no detail for a missing, wrong or malformed token`, async () => {
      const params = Object.fromEntries([...op.path.matchAll(/\{(\w+)\}/g)].map((m) => [m[1]!, 'demo']));
      for (const [what, authorization] of BAD_AUTH) {
        // A body that would be a 400 (broken JSON) or a 413 (too large) if it were read.
        for (const raw of [
          { contentType: 'application/json', bytes: '{"broken' },
          { contentType: 'application/json', bytes: `{"pad":"${'x'.repeat(64 * 1024)}"}` },
        ]) {
          const res = await api.call(op.method, op.path, { params, authorization, ...(op.method === 'get' ? {} : { raw }) });
          expect(res.status, `${what}`).toBe(401);
          expect(res.text, what).toBe('{"error":"unauthorized"}');
          expect(res.headers.get('www-authenticate'), what).toBe('Bearer realm="fedbridge-admin"');
          expect(res.headers.get('cache-control'), what).toBe('no-store');
        }
      }
    }, 60_000);
  }

  it('the right token passes the check (the same calls are not 401)', async () => {
    for (const op of adminOperations()) {
      const params = Object.fromEntries([...op.path.matchAll(/\{(\w+)\}/g)].map((m) => [m[1]!, 'no-such-thing']));
      const res = await api.call(op.method, op.path, { params, ...(op.method === 'get' || op.method === 'delete' ? {} : { raw: { contentType: 'application/json', bytes: '{"broken' } }) });
      expect(res.status, `${op.method} ${op.path}`).not.toBe(401);
    }
  }, 60_000);

  it('the document itself needs no token', async () => {
    const res = await fetch(`${svc.url}/admin/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  });
});

describe('admin API switched off (no admin.token)', () => {
  it('every operation and the document answer 404, whatever the token', async () => {
    const off = await startEnrollmentService({ admin: false });
    try {
      expect((await fetch(`${off.url}/admin/api/v1/openapi.json`)).status).toBe(404);
      for (const op of adminOperations()) {
        const path = op.path.replace(/\{\w+\}/g, 'demo');
        const res = await fetch(`${off.url}/admin/api/v1${path}`, { method: op.method.toUpperCase(), headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        expect(res.status, `${op.method} ${op.path}`).toBe(404);
      }
    } finally {
      await off.close();
    }
  }, 60_000);
});
