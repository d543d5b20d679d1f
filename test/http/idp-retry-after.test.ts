/** A 502/504 page from an IdP failure says when to retry (issue #11: every failure a clear page with Retry-After). */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startService, testConfigFile, type TestService } from '../helpers/service.js';

let svc: TestService;
let dead: Server;

beforeAll(async () => {
  // An "IdP" whose discovery document answers 500: the sign-in ends on a 502 page.
  dead = createServer((_req, res) => {
    res.statusCode = 500;
    res.end('no');
  });
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
  const issuer = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
  svc = await startService({
    file: testConfigFile({
      tenants: [{ id: 'contoso', displayName: 'Contoso', domains: ['contoso.com'], idp: { kind: 'oidc', issuer, clientId: 'c', clientSecret: 'a-secret-of-some-length' } }],
    }),
  });
});

afterAll(async () => {
  await svc?.close();
  await new Promise<void>((r) => dead.close(() => r()));
});

it('an IdP that answers with errors: a 502 page with Retry-After and the time on the page', async () => {
  const res = await fetch(`${svc.url}/auth?appru=${encodeURIComponent('ms-app://windows.immersivecontrolpanel')}&login_hint=ann@contoso.com`, { redirect: 'manual' });
  const html = await res.text();
  expect(res.status).toBe(502);
  expect(res.headers.get('retry-after')).toBe('30');
  expect(html).toContain('30 seconds');
});
