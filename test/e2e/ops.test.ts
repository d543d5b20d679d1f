/** Operator routes with a configured metrics token, and the admin API's bearer token. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startService, testConfigFile, type TestService } from '../helpers/service.js';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
let svc: TestService;

beforeAll(async () => {
  svc = await startService({
    file: testConfigFile({
      metrics: { token: METRICS_TOKEN },
      admin: { token: ADMIN_TOKEN },
      tenants: [{ id: 'c', displayName: 'C', domains: ['c.test'], idp: { kind: 'local', users: [{ upn: 'a@c.test', passwordHash: hashPasswordSync('x') }] } }],
    }),
  });
});
afterAll(() => svc.close());

it('/metrics needs the bearer token once one is configured, even from loopback', async () => {
  expect((await fetch(`${svc.url}/metrics`)).status).toBe(401);
  expect((await fetch(`${svc.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
  const ok = await fetch(`${svc.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(ok.status).toBe(200);
  expect(await ok.text()).toContain('fedbridge_http_request_duration_seconds');
});

it('the admin API refuses a missing or wrong token with a JSON 401', async () => {
  const body = JSON.stringify({ tenant: 'c', upn: 'a@c.test', servername: 'https://mdm.c.test' });
  const post = (auth?: string) =>
    fetch(`${svc.url}/admin/api/v1/invitations`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, body });
  for (const auth of [undefined, 'Bearer nope', `Basic ${ADMIN_TOKEN}`]) {
    const res = await post(auth);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'unauthorized' });
  }
  expect((await post(`Bearer ${ADMIN_TOKEN}`)).status).toBe(201);
});
