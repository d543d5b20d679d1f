/**
 * `fedbridge simulate` through an OIDC tenant: the window goes to a real OpenID provider
 * (node-oidc-provider on 127.0.0.1), answers its login and consent pages, and comes back.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startService, type TestService } from '../helpers/service.js';
import { startOidcProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { CLIENT } from '../helpers/enrollment.js';
import { simulate } from '../helpers/simulate.js';

const SECRET = 'test-client-secret-0123456789';

let svc: TestService;
let idp: TestProvider;

beforeAll(async () => {
  const idpPort = await freePort();
  const issuer = `http://127.0.0.1:${idpPort}`;
  svc = await startService({
    file: {
      enrollmentServers: [CLIENT],
      discovery: {
        enrollmentServiceUrl: 'http://127.0.0.1:{{PORT}}/EnrollmentServer/Enrollment.svc',
        enrollmentPolicyServiceUrl: 'http://127.0.0.1:{{PORT}}/EnrollmentServer/Policy.svc',
      },
      log: { level: 'silent' },
      tenants: [
        {
          id: 'contoso',
          displayName: 'Contoso',
          domains: ['contoso.com'],
          idp: { kind: 'oidc', issuer, clientId: 'fb-sim', clientSecret: SECRET, tokenEndpointAuthMethod: 'client_secret_basic' },
        },
      ],
    },
  });
  idp = await startOidcProvider({
    port: idpPort,
    clients: [{ client_id: 'fb-sim', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [`${svc.url}/callback/oidc`] }],
    users: [
      { login: 'alice@contoso.com', password: 'pw-alice', claims: { email: 'alice@contoso.com' } },
      { login: 'bob@contoso.com', password: 'pw-bob' },
    ],
  });
});
afterAll(async () => {
  await svc?.close();
  await idp?.close();
});

describe('fedbridge simulate against an OIDC tenant', () => {
  it('--http: login and consent pages at the provider, then every step passes', async () => {
    const r = await simulate(['--server', svc.url, '--user', 'alice@contoso.com', '--password', 'pw-alice', '--http']);
    expect(r.code, r.out).toBe(0);
    expect(r.lines.every((l) => l.startsWith('PASS'))).toBe(true);
    expect(r.lines[2]).toMatch(/sign-in \(http\).*password → form → wresult/);
  });

  it('--http: a wrong password at the provider fails the sign-in step', async () => {
    const r = await simulate(['--server', svc.url, '--user', 'bob@contoso.com', '--password', 'nope', '--http']);
    expect(r.code).toBe(1);
    expect(r.lines.at(-1)).toMatch(/^FAIL sign-in \(http\) .*Wrong login or password/);
  });

  it.skipIf(!existsSync('/usr/bin/chromium'))('--browser: the same in headless chromium', async () => {
    const r = await simulate(['--server', svc.url, '--user', 'bob@contoso.com', '--password', 'pw-bob', '--browser']);
    expect(r.code, r.out).toBe(0);
    expect(r.lines[2]).toMatch(/^PASS sign-in \(browser\)/);
  });
});
