/**
 * POST /tenants/{id}/idp/test against a running service and a stand-in IdP on loopback: OIDC
 * discovery and JWKS reachable (or not, or someone else's issuer), SAML and WS-Federation metadata
 * readable, signing certificates (a warning under 30 days, a failure once expired), the IdP's
 * clock from its Date header (a warning over 60 s), a local IdP's users. Every answer is checked
 * against the OpenAPI document.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { enrollmentConfig } from '../helpers/enrollment.js';
import { freePort, startService, TestClock, type TestService } from '../helpers/service.js';
import { makeKeyPair, type KeyPair } from '../helpers/samlify-idp.js';
import { buildFederationMetadata, fixtureKeys } from '../fixtures/adfs/index.js';
import { AdminClient } from './openapi-check.js';

/** The real time plus an offset the tests move (the skew and expiry checks read the service clock). */
class LiveClock extends TestClock {
  offset = 0;
  override now = () => Date.now() + this.offset;
  override advance(ms: number) {
    this.offset += ms;
  }
}
const clock = new LiveClock();
let idp: Server;
let idpUrl: string;
let deadUrl: string;
let svc: TestService;
let api: AdminClient;
let shortCert: KeyPair;
const answers = new Map<string, { status: number; type: string; body: string }>();

const samlMetadata = (entityId: string, ssoUrl: string, certs: string[]) =>
  `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${entityId}">` +
  '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' +
  certs
    .map((c) => `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`)
    .join('') +
  `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${ssoUrl}"/>` +
  '</md:IDPSSODescriptor></md:EntityDescriptor>';

const tenant = (id: string, idpConfig: Record<string, unknown>) => ({ id, displayName: id, domains: [`${id}.test`], idp: idpConfig });

beforeAll(async () => {
  idp = createServer((req, res) => {
    const a = answers.get(new URL(req.url!, 'http://x').pathname);
    res.writeHead(a?.status ?? 404, { 'content-type': a?.type ?? 'text/plain' });
    res.end(a?.body ?? 'no');
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', () => r()));
  idpUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  deadUrl = `http://127.0.0.1:${await freePort()}`;
  shortCert = await makeKeyPair('short-lived signing'); // valid 2 days
  const keys = fixtureKeys(); // valid 5 years

  const json = (v: unknown) => ({ status: 200, type: 'application/json', body: JSON.stringify(v) });
  const xml = (body: string) => ({ status: 200, type: 'application/xml', body });
  answers.set('/oidc/.well-known/openid-configuration', json({ issuer: `${idpUrl}/oidc`, authorization_endpoint: `${idpUrl}/oidc/auth`, token_endpoint: `${idpUrl}/oidc/token`, jwks_uri: `${idpUrl}/oidc/jwks` }));
  answers.set('/oidc/jwks', json({ keys: [{ kty: 'RSA', kid: 'k1', n: 'AQAB', e: 'AQAB' }] }));
  answers.set('/other/.well-known/openid-configuration', json({ issuer: 'https://evil.example', authorization_endpoint: 'https://evil.example/a', token_endpoint: 'https://evil.example/t', jwks_uri: 'https://evil.example/j' }));
  answers.set('/saml/metadata', xml(samlMetadata(`${idpUrl}/saml`, `${idpUrl}/saml/sso`, [keys.primary.certB64, shortCert.certB64])));
  answers.set('/garbage/metadata', { status: 200, type: 'text/html', body: '<html><body>\u001b[31mnot metadata</body></html>' });
  const fed = buildFederationMetadata({ issuer: `${idpUrl}/adfs/services/trust`, baseUrl: idpUrl, signing: [keys.primary], other: keys.other, metadataKey: keys.primary });
  answers.set('/FederationMetadata/2007-06/FederationMetadata.xml', xml(fed));
  answers.set('/adfs/services/trust/13/usernamemixed', { status: 405, type: 'text/html', body: 'method not allowed' });

  const base = enrollmentConfig();
  svc = await startService({
    clock,
    file: {
      ...base,
      tenants: [
        ...(base.tenants as unknown[]),
        tenant('oidcok', { kind: 'oidc', issuer: `${idpUrl}/oidc`, clientId: 'fedbridge', clientSecret: 'client-secret-0123456789' }),
        tenant('oidcother', { kind: 'oidc', issuer: `${idpUrl}/other`, clientId: 'fedbridge', clientSecret: 'client-secret-0123456789' }),
        tenant('oidcdead', { kind: 'oidc', issuer: `${deadUrl}/oidc`, clientId: 'fedbridge', clientSecret: 'client-secret-0123456789', timeoutMs: 3000 }),
        tenant('samlok', { kind: 'saml', metadataUrl: `${idpUrl}/saml/metadata` }),
        tenant('samlbad', { kind: 'saml', metadataUrl: `${idpUrl}/garbage/metadata` }),
        tenant('samlgone', { kind: 'saml', metadataUrl: `${idpUrl}/missing/metadata` }),
        tenant('wsfedok', { kind: 'wsfed', metadataUrl: `${idpUrl}/FederationMetadata/2007-06/FederationMetadata.xml` }),
        tenant('wstrustok', {
          kind: 'wstrust',
          endpoint: `${idpUrl}/adfs/services/trust/13/usernamemixed`,
          appliesTo: 'urn:fedbridge:test',
          metadataUrl: `${idpUrl}/FederationMetadata/2007-06/FederationMetadata.xml`,
        }),
      ],
    },
  });
  api = await AdminClient.open(svc.url);
}, 120_000);
afterAll(async () => {
  await svc?.close();
  await new Promise<void>((r) => idp.close(() => r()));
});

type Finding = { check: string; ok: boolean; detail: string; warning?: boolean };
async function test(id: string): Promise<{ ok: boolean; kind: string; findings: Finding[] }> {
  const res = await api.call('post', '/tenants/{id}/idp/test', { params: { id } });
  expect(res.status, res.text).toBe(200);
  expect(res.json.tenant).toBe(id);
  return res.json;
}
const check = (r: { findings: Finding[] }, name: string) => r.findings.filter((f) => f.check === name);

it('a local IdP: its users', async () => {
  expect(await test('demo')).toEqual({ tenant: 'demo', kind: 'local', ok: true, findings: [{ check: 'users', ok: true, detail: '2 users' }] });
});

it('OIDC: discovery, JWKS and the clock pass', async () => {
  const r = await test('oidcok');
  expect(r.ok).toBe(true);
  expect(r.findings.map((f) => [f.check, f.ok, f.warning ?? false])).toEqual([
    ['clock', true, false],
    ['discovery', true, false],
    ['jwks', true, false],
  ]);
  expect(check(r, 'jwks')[0]!.detail).toContain('1 key');
});

it("OIDC: a document naming another issuer fails; an unreachable IdP fails with the reason", async () => {
  const other = await test('oidcother');
  expect(other.ok).toBe(false);
  expect(check(other, 'discovery')[0]).toMatchObject({ ok: false, detail: expect.stringContaining('names issuer https://evil.example') });
  const dead = await test('oidcdead');
  expect(dead.ok).toBe(false);
  expect(dead.findings).toEqual([{ check: 'discovery', ok: false, detail: expect.stringContaining('ECONNREFUSED') }]);
});

it('SAML: metadata, endpoint, each signing certificate (one near its end warns), then expired fails', async () => {
  const r = await test('samlok');
  expect(r.ok, JSON.stringify(r.findings)).toBe(true);
  expect(check(r, 'metadata')[0]).toMatchObject({ ok: true });
  expect(check(r, 'endpoint')[0]).toMatchObject({ ok: true, detail: expect.stringContaining('/saml/sso') });
  const certs = check(r, 'certificate');
  expect(certs).toHaveLength(2);
  expect(certs[0]).toMatchObject({ ok: true, detail: expect.stringContaining('ADFS Signing - fixture primary') });
  expect(certs[0]!.warning).toBeUndefined();
  expect(certs[1]).toMatchObject({ ok: true, warning: true, detail: expect.stringMatching(/short-lived signing: valid until .* \(\d days?, under 30: roll it over\)/) });

  clock.advance(3 * 86_400_000); // past the short certificate's end (and 3 days off the IdP's clock)
  try {
    const later = await test('samlok');
    expect(later.ok).toBe(false);
    expect(check(later, 'certificate')[1]).toMatchObject({ ok: false, detail: expect.stringContaining('expired') });
    expect(check(later, 'clock')[0]).toMatchObject({ ok: true, warning: true, detail: expect.stringMatching(/^the IdP's clock is \d+ s behind ours \(over 60 s/) });
  } finally {
    clock.advance(-3 * 86_400_000);
  }
});

it('the clock: over 60 s of skew warns, a few seconds do not', async () => {
  clock.advance(90_000);
  try {
    expect(check(await test('oidcok'), 'clock')[0]).toMatchObject({ ok: true, warning: true, detail: expect.stringMatching(/^the IdP's clock is (8\d|9\d) s behind ours/) });
  } finally {
    clock.advance(-90_000);
  }
  clock.advance(-20_000);
  try {
    const c = check(await test('oidcok'), 'clock')[0]!;
    expect(c.warning).toBeUndefined();
    expect(c.detail).toMatch(/^the IdP's clock is (1\d|2\d) s ahead of ours$/);
  } finally {
    clock.advance(20_000);
  }
});

it('SAML: unreadable or missing metadata fails without echoing it', async () => {
  const bad = await test('samlbad');
  expect(bad.ok).toBe(false);
  expect(check(bad, 'metadata')[0]!.ok).toBe(false);
  expect(JSON.stringify(bad)).not.toContain('not metadata');
  const gone = await test('samlgone');
  expect(check(gone, 'metadata')[0]).toMatchObject({ ok: false, detail: expect.stringContaining('HTTP 404') });
});

it('WS-Federation and WS-Trust: metadata, endpoint, certificates', async () => {
  const fed = await test('wsfedok');
  expect(fed.ok).toBe(true);
  expect(fed.findings.map((f) => f.check)).toEqual(['clock', 'metadata', 'endpoint', 'certificate']);
  expect(check(fed, 'endpoint')[0]!.detail).toContain('/adfs/ls/');
  const sts = await test('wstrustok');
  expect(sts.ok).toBe(true);
  expect(check(sts, 'endpoint')[0]).toMatchObject({ ok: true, detail: expect.stringContaining('HTTP 405') });
});

it('an unknown tenant is a 404 unknown_tenant', async () => {
  const res = await api.call('post', '/tenants/{id}/idp/test', { params: { id: 'nope' } });
  expect(res.status).toBe(404);
  expect(res.json.error).toBe('unknown_tenant');
});
