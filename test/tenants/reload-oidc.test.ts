/**
 * A rotated upstream client secret takes effect by a reload of the config file, against a real
 * OpenID provider (node-oidc-provider): once the provider only knows the new secret, the old
 * one is refused; after the file is changed and reloaded, sign-in works again.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { driveSignIn, startOidcProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { freePort } from '../helpers/redis.js';
import { APPRU, baseFile, startWithFile, type Running } from './helpers.js';

const OLD = 'old-client-secret-0123456789abcdef';
const NEW = 'new-client-secret-fedcba9876543210';

let svc: Running;
let idp: TestProvider | undefined;
let idpPort: number;

const fileWith = (secret: string) =>
  baseFile({
    tenants: [
      {
        id: 'contoso',
        displayName: 'Contoso',
        domains: ['contoso.com'],
        idp: { kind: 'oidc', issuer: `http://127.0.0.1:${idpPort}`, clientId: 'fb', clientSecret: secret, tokenEndpointAuthMethod: 'client_secret_basic' },
      },
    ],
  });

const provider = (secret: string) =>
  startOidcProvider({
    port: idpPort,
    clients: [{ client_id: 'fb', client_secret: secret, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [`${svc.url}/callback/oidc`] }],
    users: [{ login: 'alice@contoso.com', password: 'pw-alice', claims: { email: 'alice@contoso.com' } }],
  });

const signIn = () => driveSignIn(svc.url, `${svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: 'alice@contoso.com' })}`, { login: 'alice@contoso.com', password: 'pw-alice' });

beforeAll(async () => {
  idpPort = await freePort();
  svc = await startWithFile(fileWith(OLD), { tenantPollMs: 0, upstreamGraceMs: 100 });
  idp = await provider(OLD);
}, 60_000);
afterAll(async () => {
  await idp?.close();
  await svc?.close();
});

it('the old secret is refused once rotated at the provider; after the file is changed and reloaded, sign-in works', async () => {
  expect((await signIn()).token).toBeTruthy();

  // Rotated at the provider: it knows only the new secret now.
  await idp!.close();
  idp = await provider(NEW);
  const refused = await signIn();
  expect(refused.token).toBeNull();
  expect(refused.res.status).toBeGreaterThanOrEqual(400);
  // Refused at the provider's token endpoint (client authentication), not anywhere else.
  expect(svc.logs.some((l) => l.code === 'upstream_error' && String(l.detail).startsWith('token exchange failed'))).toBe(true);

  svc.write(fileWith(NEW));
  expect(await svc.service.deps.directory.reloadFile()).toEqual({ ok: true });
  const after = await signIn();
  expect(after.token).toBeTruthy();
  expect(JSON.parse(Buffer.from(after.token!.split('.')[1], 'base64url').toString())).toMatchObject({ tid: 'contoso', upn: 'alice@contoso.com' });
  // The reload logs no secret.
  expect(JSON.stringify(svc.logs)).not.toContain(NEW);
  expect(JSON.stringify(svc.logs)).not.toContain(OLD);
}, 120_000);
