/**
 * One real-browser run (Debian chromium): /auth → the provider's login and consent pages →
 * /callback/oidc → the wresult page submits itself to the appru, here an allow-listed
 * loopback address served by the test, which captures the token.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { launchBrowser } from '../helpers/browser.js';
import { startService, freePort, type TestService } from '../helpers/service.js';
import { startOidcProvider, type TestProvider } from '../helpers/oidc-provider.js';

const SECRET = 'browser-client-secret-0123456789';
let svc: TestService;
let idp: TestProvider;
let browser: Browser;
let capture: Server;
let captured: Promise<URLSearchParams>;

beforeAll(async () => {
  let deliver!: (body: URLSearchParams) => void;
  captured = new Promise((r) => (deliver = r));
  capture = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST') deliver(new URLSearchParams(Buffer.concat(chunks).toString()));
      res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>captured</h1>');
    });
  });
  await new Promise<void>((r) => capture.listen(0, '127.0.0.1', r));
  const appru = `http://127.0.0.1:${(capture.address() as AddressInfo).port}/capture`;

  const idpPort = await freePort();
  svc = await startService({
    file: {
      server: { publicUrl: 'http://127.0.0.1:{{PORT}}' },
      appru: { allow: [appru] },
      tenants: [
        {
          id: 'contoso',
          displayName: 'Contoso',
          domains: ['contoso.com'],
          idp: { kind: 'oidc', issuer: `http://127.0.0.1:${idpPort}`, clientId: 'fb', clientSecret: SECRET, tokenEndpointAuthMethod: 'client_secret_basic' },
        },
      ],
    },
  });
  idp = await startOidcProvider({
    port: idpPort,
    clients: [{ client_id: 'fb', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [`${svc.url}/callback/oidc`] }],
    users: [{ login: 'alice@contoso.com', password: 'pw-alice' }],
  });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await idp?.close();
  await svc?.close();
  capture?.close();
});

it('a person signs in at the provider and the appru receives a token that verifies', async () => {
  const appru = `http://127.0.0.1:${(capture.address() as AddressInfo).port}/capture`;
  const page = await browser.newPage();
  await page.goto(`${svc.url}/auth?${new URLSearchParams({ appru, login_hint: 'alice@contoso.com' })}`);

  expect(new URL(page.url()).origin).toBe(idp.issuer);
  expect(await page.locator('input[name=login]').inputValue()).toBe('alice@contoso.com');
  await page.locator('input[name=password]').fill('pw-alice');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Accept' }).click();

  // The wresult page posts itself: the capture server gets exactly one field.
  const body = await captured;
  await page.waitForURL(appru);
  expect([...body.keys()]).toEqual(['wresult']);
  const jwks = createRemoteJWKSet(new URL(`${svc.url}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(body.get('wresult')!, jwks, { issuer: svc.url, audience: 'urn:fedbridge:mdm' });
  expect(payload).toMatchObject({ upn: 'alice@contoso.com', tid: 'contoso', idp: { kind: 'oidc', id: 'contoso-oidc' } });
  await page.close();
});
