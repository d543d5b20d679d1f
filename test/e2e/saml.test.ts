/**
 * The `saml` upstream kind end to end (issue #8 §2, docs/adfs.md, docs/upstreams.md): a real Fedbridge service
 * with tenants of kind `saml`, against samlify as IdP (test/helpers/samlify-idp.ts) and Debian's
 * SimpleSAMLphp, driven over HTTP as the device window would: /auth → 302 to the IdP with
 * SAMLRequest + RelayState → the IdP's auto-POST form → POST /saml/<tenant>/acs → the wresult
 * page, whose token must verify against the JWKS. Then the attack corpus, built from genuine
 * answers captured here.
 */
import { createVerify, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { DOMParser, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { startService, testConfigFile, type TestService } from '../helpers/service.js';
import { hiddenValue } from '../helpers/html.js';
import { expectErrorPage } from '../upstreams/oidc/expect.js';
import { AC_MFA, AC_PASSWORD, UPN_CLAIM, makeKeyPair, startSamlifyIdp, type KeyPair, type SamlifyIdp, type SamlifyIdpOptions } from '../helpers/samlify-idp.js';
import { CookieJar, SSP_CLAIMS, parseForms, signInAtIdp, startSimpleSamlPhp, submitForm, type SimpleSamlPhp } from '../helpers/simplesamlphp.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
};
const ALICE = { nameId: 'alice@contoso.com', attributes: { [UPN_CLAIM]: ['alice@contoso.com'] } };

let svc: TestService;
let idp: SamlifyIdp;
let ssp: SimpleSamlPhp;
let foreign: KeyPair;
let mdDir: string;

beforeAll(async () => {
  idp = await startSamlifyIdp({ user: ALICE });
  ssp = await startSimpleSamlPhp({
    users: [
      { username: 'sally', password: 'pw-sally', upn: 'sally@ssp.example', email: 'sally@ssp.example', name: 'Sally', groups: ['Enrollers'] },
      { username: 'enid', password: 'pw-enid', upn: 'enid@sspenc.example' },
    ],
  });
  foreign = await makeKeyPair('foreign-attacker');
  mdDir = mkdtempSync(join(tmpdir(), 'fedbridge-saml-md-'));
  const mdFile = join(mdDir, 'idp-metadata.xml');
  writeFileSync(mdFile, idp.metadataXml);
  const saml = (extra: Record<string, unknown> = {}) => ({ kind: 'saml', metadataUrl: idp.metadataUrl, ...extra });
  const t = (id: string, domain: string, idpCfg: Record<string, unknown>, policy: Record<string, unknown> = {}) => ({
    id,
    displayName: id,
    domains: [domain],
    policy,
    idp: idpCfg,
  });
  svc = await startService({
    file: testConfigFile({
      tenants: [
        t('contoso', 'contoso.com', saml()),
        t('fabrikam', 'fabrikam.com', saml()),
        t('signed', 'signed.example', saml({ signAuthnRequests: true })),
        t('mfa', 'mfa.example', saml(), { requireMfa: true }),
        t('filemd', 'filemd.example', { kind: 'saml', metadataFile: mdFile }),
        t('rollover', 'rollover.example', saml()),
        t('ssp', 'ssp.example', { kind: 'saml', metadataUrl: ssp.saml.metadataUrl }),
        t('sspenc', 'sspenc.example', { kind: 'saml', metadataUrl: ssp.saml.metadataUrl, wantEncryptedAssertions: true }),
      ],
    }),
  });
  // SimpleSAMLphp encrypts to the certificate Fedbridge publishes in its SP metadata.
  const encMd = dom(await (await fetch(`${svc.url}/saml/sspenc/metadata`)).text());
  const encKd = Array.from(encMd.getElementsByTagNameNS(NS.md, 'KeyDescriptor')).find((k) => k.getAttribute('use') === 'encryption');
  const encCert = encKd!.getElementsByTagNameNS(NS.ds, 'X509Certificate')[0]!.textContent!.replace(/\s+/g, '');
  ssp.setRelyingParties({
    samlSps: [
      { entityId: `${svc.url}/saml/ssp`, acs: `${svc.url}/saml/ssp/acs` },
      {
        entityId: `${svc.url}/saml/sspenc`,
        acs: `${svc.url}/saml/sspenc/acs`,
        certificate: `-----BEGIN CERTIFICATE-----\n${encCert}\n-----END CERTIFICATE-----\n`,
        encryptAssertions: true,
      },
    ],
  });
}, 60_000);

afterAll(async () => {
  await svc?.close();
  await idp?.close();
  await ssp?.stop();
  if (mdDir) rmSync(mdDir, { recursive: true, force: true });
});

function authUrl(hint: string, path = '/auth'): string {
  return `${svc.url}${path}?${new URLSearchParams({ appru: APPRU, login_hint: hint })}`;
}

/** /auth → the 302 to the IdP: the SSO URL with SAMLRequest and RelayState. */
async function begin(hint: string): Promise<{ location: URL; relayState: string; requestXml: string }> {
  const res = await fetch(authUrl(hint), { redirect: 'manual' });
  expect(res.status, await res.clone().text()).toBe(302);
  const location = new URL(res.headers.get('location')!);
  const relayState = location.searchParams.get('RelayState')!;
  const requestXml = inflateRawSync(Buffer.from(location.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  return { location, relayState, requestXml };
}

interface Captured {
  relayState: string;
  samlResponse: string;
  acs: string;
}

/** A whole trip to samlify: the answer it posts (not yet delivered). */
async function atIdp(hint: string, opts?: Partial<SamlifyIdpOptions>): Promise<Captured> {
  const saved = idp.options;
  idp.options = { ...saved, ...opts };
  try {
    const { location, relayState } = await begin(hint);
    expect(location.origin).toBe(idp.url);
    const page = await fetch(location);
    const html = await page.text();
    expect(page.status, `${html} ${idp.lastError}`).toBe(200);
    const form = parseForms(html, location.toString())[0]!;
    expect(form.fields.RelayState).toBe(relayState);
    return { relayState, samlResponse: form.fields.SAMLResponse!, acs: form.action };
  } finally {
    idp.options = saved;
  }
}

async function post(acs: string, fields: Record<string, string> | URLSearchParams): Promise<{ res: Response; html: string }> {
  const res = await fetch(acs, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: fields instanceof URLSearchParams ? fields.toString() : new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  return { res, html: await res.text() };
}

async function deliver(c: Captured, samlResponse = c.samlResponse, relayState = c.relayState, acs = c.acs) {
  return post(acs, { SAMLResponse: samlResponse, RelayState: relayState });
}

async function verified(html: string): Promise<JWTPayload> {
  const token = hiddenValue(html, 'wresult');
  expect(token, html.slice(0, 2000)).toBeTruthy();
  const jwks = createRemoteJWKSet(new URL(`${svc.url}/.well-known/jwks.json`));
  // The service's clock (a test may have moved it).
  const { payload } = await jwtVerify(token!, jwks, { issuer: svc.url, audience: 'urn:fedbridge:mdm', currentDate: new Date(svc.clock.now()) });
  return payload;
}

function decode(b64: string): string {
  return Buffer.from(b64, 'base64').toString('utf8');
}
function encode(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}
function dom(xml: string): Document {
  return new DOMParser().parseFromString(xml, 'text/xml');
}
function childrenNamed(el: Element | Document, ns: string, local: string): Element[] {
  return Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === local);
}
/** The Response's direct Assertion (exactly one) of a decoded answer. */
function assertionOf(doc: Document): Element {
  const found = childrenNamed(doc.documentElement!, NS.saml, 'Assertion');
  expect(found).toHaveLength(1);
  return found[0]!;
}
const serialize = (doc: Document | Element) => new XMLSerializer().serializeToString(doc as unknown as Node & Document);

/** Signs the (only) Assertion again with `key`, its certificate in KeyInfo. */
function resign(xml: string, key: KeyPair, signatureAlgorithm = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', digestAlgorithm = 'http://www.w3.org/2001/04/xmlenc#sha256'): string {
  const sig = new SignedXml({ privateKey: key.keyPem, publicCert: key.certPem, signatureAlgorithm, canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#' });
  sig.addReference({
    xpath: "//*[local-name(.)='Assertion']",
    digestAlgorithm,
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
  });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: "//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", action: 'after' } });
  return sig.getSignedXml();
}

const stripSignatures = (xml: string) => xml.replace(/<ds:Signature\b[\s\S]*?<\/ds:Signature>/g, '');

async function healthy(): Promise<void> {
  const res = await fetch(`${svc.url}/healthz`);
  expect(res.status).toBe(200);
}

describe('saml sign-in through samlify', () => {
  it('signs in: AuthnRequest over the Redirect binding, Assertion-only signature, verified token', async () => {
    const { location, relayState, requestXml } = await begin('alice@contoso.com');
    expect(location.origin + location.pathname).toBe(idp.ssoUrl);
    expect(relayState).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const req = dom(requestXml).documentElement!;
    expect(req.localName).toBe('AuthnRequest');
    expect(req.getAttribute('AssertionConsumerServiceURL')).toBe(`${svc.url}/saml/contoso/acs`);
    expect(childrenNamed(req, NS.saml, 'Issuer')[0]!.textContent).toBe(`${svc.url}/saml/contoso`);
    // Unsigned by default: no SigAlg / Signature on the redirect.
    expect(location.searchParams.has('Signature')).toBe(false);

    const c = await atIdp('alice@contoso.com', { user: { ...ALICE, attributes: { ...ALICE.attributes, [SSP_CLAIMS.email]: ['alice.smith@contoso.com'], [SSP_CLAIMS.name]: ['Alice Smith'] } } });
    expect(c.acs).toBe(`${svc.url}/saml/contoso/acs`);
    // samlify signed only the Assertion (docs/adfs.md: a signed Assertion in an unsigned Response).
    const answer = dom(decode(c.samlResponse));
    expect(childrenNamed(answer.documentElement!, NS.ds, 'Signature')).toHaveLength(0);
    const assertion = assertionOf(answer);
    expect(childrenNamed(assertion, NS.ds, 'Signature')).toHaveLength(1);
    expect(childrenNamed(assertion, NS.saml, 'AuthnStatement')).toHaveLength(1);
    const { res, html } = await deliver(c);
    expect(res.status, html.slice(0, 2000)).toBe(200);
    const payload = await verified(html);
    expect(payload).toMatchObject({
      upn: 'alice@contoso.com',
      email: 'alice.smith@contoso.com',
      name: 'Alice Smith',
      tid: 'contoso',
      idp: { kind: 'saml', id: 'contoso-saml' },
      amr: ['pwd'],
      login_hint: 'alice@contoso.com',
    });
    expect(payload.sub).toBeTruthy();
  });

  it('accepts a signed Response holding a signed Assertion, and an unsigned Assertion inside a signed Response', async () => {
    const both = await atIdp('alice@contoso.com', { sign: 'both' });
    const d = dom(decode(both.samlResponse));
    expect(childrenNamed(d.documentElement!, NS.ds, 'Signature')).toHaveLength(1);
    expect(childrenNamed(assertionOf(d), NS.ds, 'Signature')).toHaveLength(1);
    expect((await verified((await deliver(both)).html)).upn).toBe('alice@contoso.com');

    const responseOnly = await atIdp('alice@contoso.com', { sign: 'response' });
    const r = dom(decode(responseOnly.samlResponse));
    expect(childrenNamed(r.documentElement!, NS.ds, 'Signature')).toHaveLength(1);
    expect(childrenNamed(assertionOf(r), NS.ds, 'Signature')).toHaveLength(0);
    expect((await verified((await deliver(responseOnly)).html)).upn).toBe('alice@contoso.com');
  });

  it('MFA policy: AuthnContextClassRef multifactor gives amr mfa; a password-only sign-in is refused', async () => {
    const dave = { nameId: 'dave@mfa.example', attributes: { [UPN_CLAIM]: ['dave@mfa.example'] } };
    const ok = await atIdp('dave@mfa.example', { user: { ...dave, authnContextClassRef: AC_MFA } });
    const payload = await verified((await deliver(ok)).html);
    expect(payload).toMatchObject({ upn: 'dave@mfa.example', tid: 'mfa', amr: ['mfa'], idp: { kind: 'saml' } });

    const pwd = await atIdp('dave@mfa.example', { user: { ...dave, authnContextClassRef: AC_PASSWORD } });
    const { res, html } = await deliver(pwd);
    expectErrorPage(res, html, 403, 'mfa_required');
  });

  it('a UPN of another domain is refused with upn_not_in_tenant', async () => {
    const c = await atIdp('alice@contoso.com', { user: { nameId: 'mallory@evil.example', attributes: { [UPN_CLAIM]: ['mallory@evil.example'] } } });
    const { res, html } = await deliver(c);
    expectErrorPage(res, html, 403, 'upn_not_in_tenant');
  });

  it('the NameID is the UPN when the IdP sends no upn attribute', async () => {
    const c = await atIdp('alice@contoso.com', { user: { nameId: 'alice@contoso.com' } });
    expect((await verified((await deliver(c)).html)).upn).toBe('alice@contoso.com');
  });

  it('IdP metadata from metadataFile works as from metadataUrl', async () => {
    const c = await atIdp('erin@filemd.example', { user: { nameId: 'erin@filemd.example' } });
    expect(c.acs).toBe(`${svc.url}/saml/filemd/acs`);
    const payload = await verified((await deliver(c)).html);
    expect(payload).toMatchObject({ upn: 'erin@filemd.example', tid: 'filemd', idp: { kind: 'saml', id: 'filemd-saml' } });
  });
});

describe('SP metadata and signed AuthnRequests', () => {
  function spDescriptor(xml: string): Element {
    const d = dom(xml);
    const ed = d.documentElement!;
    expect(ed.namespaceURI).toBe(NS.md);
    expect(ed.localName).toBe('EntityDescriptor');
    const sps = childrenNamed(ed, NS.md, 'SPSSODescriptor');
    expect(sps).toHaveLength(1);
    return sps[0]!;
  }

  it('GET /saml/<tenant>/metadata: entity ID, WantAssertionsSigned="true", the ACS, no key without signAuthnRequests', async () => {
    const res = await fetch(`${svc.url}/saml/contoso/metadata`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/samlmetadata\+xml/);
    const xml = await res.text();
    expect(dom(xml).documentElement!.getAttribute('entityID')).toBe(`${svc.url}/saml/contoso`);
    const sp = spDescriptor(xml);
    expect(sp.getAttribute('WantAssertionsSigned')).toBe('true');
    expect(sp.getAttribute('protocolSupportEnumeration')).toContain('urn:oasis:names:tc:SAML:2.0:protocol');
    const acs = childrenNamed(sp, NS.md, 'AssertionConsumerService');
    expect(acs.map((a) => [a.getAttribute('Binding'), a.getAttribute('Location')])).toEqual([
      ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', `${svc.url}/saml/contoso/acs`],
    ]);
    expect(childrenNamed(sp, NS.md, 'KeyDescriptor')).toHaveLength(0);
    // Not a SAML tenant, or no tenant at all: 404.
    expect((await fetch(`${svc.url}/saml/nosuch/metadata`)).status).toBe(404);
  });

  it('signAuthnRequests: the certificate generated into keys.dir (key mode 0600) is published, and the AuthnRequest is signed with it', async () => {
    const res = await fetch(`${svc.url}/saml/signed/metadata`);
    expect(res.status).toBe(200);
    const sp = spDescriptor(await res.text());
    expect(sp.getAttribute('AuthnRequestsSigned')).toBe('true');
    expect(sp.getAttribute('WantAssertionsSigned')).toBe('true');
    const kds = childrenNamed(sp, NS.md, 'KeyDescriptor').filter((k) => k.getAttribute('use') === 'signing');
    expect(kds).toHaveLength(1);
    const certB64 = kds[0]!.getElementsByTagNameNS(NS.ds, 'X509Certificate')[0]!.textContent!.replace(/\s+/g, '');
    const published = new X509Certificate(Buffer.from(certB64, 'base64'));

    const keysDir = join(svc.dir, 'keys');
    const keyPath = join(keysDir, 'saml-sp.key.pem');
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const onDisk = new X509Certificate(readFileSync(join(keysDir, 'saml-sp.crt.pem')));
    expect(onDisk.fingerprint256).toBe(published.fingerprint256);
    expect(published.publicKey.asymmetricKeyType).toBe('rsa');
    expect(published.checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(keyPath)))).toBe(true);

    // The redirect carries SigAlg and Signature over SAMLRequest&RelayState&SigAlg (Redirect binding).
    const authRes = await fetch(authUrl('sam@signed.example'), { redirect: 'manual' });
    expect(authRes.status).toBe(302);
    const location = authRes.headers.get('location')!;
    const raw = location.split('?')[1]!.split('&');
    const pick = (n: string) => raw.find((p) => p.startsWith(`${n}=`))!;
    const q = new URL(location).searchParams;
    expect(q.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    const signed = [pick('SAMLRequest'), pick('RelayState'), pick('SigAlg')].join('&');
    const verifier = createVerify('RSA-SHA256');
    verifier.update(signed);
    expect(verifier.verify(published.publicKey, Buffer.from(q.get('Signature')!, 'base64'))).toBe(true);
    const tampered = createVerify('RSA-SHA256');
    tampered.update(signed.replace('RelayState=', 'RelayState=x'));
    expect(tampered.verify(published.publicKey, Buffer.from(q.get('Signature')!, 'base64'))).toBe(false);
  });

  it('signAuthnRequests: an IdP that requires signed requests (samlify checks the signature) signs the user in', async () => {
    const c = await atIdp('sam@signed.example', { wantAuthnRequestsSigned: true, user: { nameId: 'sam@signed.example' } });
    expect((await verified((await deliver(c)).html)).upn).toBe('sam@signed.example');
    // The same IdP refuses the unsigned requests of a tenant without signAuthnRequests.
    idp.options = { ...idp.options, wantAuthnRequestsSigned: true };
    try {
      const { location } = await begin('alice@contoso.com');
      const page = await fetch(location);
      expect(page.status).toBe(400);
      await page.text();
    } finally {
      idp.options = { ...idp.options, wantAuthnRequestsSigned: false };
    }
  });
});

describe('saml sign-in through SimpleSAMLphp', () => {
  it('signs in at a real IdP (Response and Assertion signed) and ends in a verified token', async () => {
    const jar = new CookieJar();
    const { location } = await begin('sally@ssp.example');
    expect(location.toString().startsWith(ssp.saml.ssoUrl)).toBe(true);
    const answer = await signInAtIdp(jar, location.toString(), { username: 'sally', password: 'pw-sally' }, ['SAMLResponse', 'RelayState']);
    expect(answer.prompted).toBe(true);
    expect(answer.form.action).toBe(`${svc.url}/saml/ssp/acs`);
    const d = dom(decode(answer.form.fields.SAMLResponse!));
    expect(childrenNamed(d.documentElement!, NS.ds, 'Signature')).toHaveLength(1);
    expect(childrenNamed(assertionOf(d), NS.ds, 'Signature')).toHaveLength(1);
    const page = await submitForm(jar, answer.form);
    expect(page.status, `${page.body.slice(0, 1500)}\n${ssp.logs()}`).toBe(200);
    const payload = await verified(page.body);
    expect(payload).toMatchObject({ upn: 'sally@ssp.example', email: 'sally@ssp.example', name: 'Sally', tid: 'ssp', idp: { kind: 'saml', id: 'ssp-saml' }, amr: ['pwd'] });
  });

  it('wantEncryptedAssertions: SimpleSAMLphp encrypts to the published certificate; the answer is decrypted and verified', async () => {
    const jar = new CookieJar();
    const { location } = await begin('enid@sspenc.example');
    const answer = await signInAtIdp(jar, location.toString(), { username: 'enid', password: 'pw-enid' }, ['SAMLResponse', 'RelayState']);
    const d = dom(decode(answer.form.fields.SAMLResponse!));
    expect(childrenNamed(d.documentElement!, NS.saml, 'Assertion')).toHaveLength(0);
    expect(childrenNamed(d.documentElement!, NS.saml, 'EncryptedAssertion')).toHaveLength(1);
    expect(decode(answer.form.fields.SAMLResponse!)).not.toContain('enid@sspenc.example');
    const page = await submitForm(jar, answer.form);
    expect(page.status, `${page.body.slice(0, 1500)}\n${ssp.logs()}`).toBe(200);
    expect(await verified(page.body)).toMatchObject({ upn: 'enid@sspenc.example', tid: 'sspenc', idp: { kind: 'saml' } });

  });
});

interface Attack {
  name: string;
  status: number;
  code: string;
  run(): Promise<{ res: Response; html: string }>;
}

/** A genuine, unused samlify answer for alice@contoso.com (Assertion signed, Response not). */
const genuine = (opts?: Partial<SamlifyIdpOptions>) => atIdp('alice@contoso.com', opts);
/** The decoded answer edited as text, then posted with its own RelayState. */
async function edited(edit: (xml: string) => string, opts?: Partial<SamlifyIdpOptions>) {
  const c = await genuine(opts);
  return deliver(c, encode(edit(decode(c.samlResponse))));
}
const ANOTHER_ACS = () => `${svc.url}/saml/fabrikam/acs`;

const attacks: Attack[] = [
  {
    name: 'DOCTYPE with an entity in the SAMLResponse',
    status: 400,
    code: 'assertion_dtd_refused',
    run: () => edited((x) => `<!DOCTYPE r [<!ENTITY who "alice@contoso.com">]>${x.replace('>alice@contoso.com</saml:NameID>', '>&who;</saml:NameID>')}`),
  },
  {
    name: 'Destination naming another ACS (in a signed Response)',
    status: 400,
    code: 'assertion_wrong_recipient',
    run: async () => deliver(await genuine({ sign: 'both', answer: { destination: ANOTHER_ACS() } })),
  },
  {
    name: 'Recipient naming another ACS (in the signed Assertion)',
    status: 400,
    code: 'assertion_wrong_recipient',
    run: async () => deliver(await genuine({ answer: { recipient: ANOTHER_ACS() } })),
  },
  {
    name: "InResponseTo of another transaction (B's answer with A's RelayState)",
    status: 400,
    code: 'unknown_state',
    run: async () => {
      const a = await genuine();
      const b = await genuine();
      return deliver(b, b.samlResponse, a.relayState);
    },
  },
  {
    name: "Response InResponseTo rewritten to another transaction's request (the signed SubjectConfirmationData still names its own)",
    status: 400,
    code: 'unknown_state',
    run: async () => {
      const a = await begin('alice@contoso.com');
      const aRequestId = dom(a.requestXml).documentElement!.getAttribute('ID')!;
      const b = await genuine();
      const xml = decode(b.samlResponse);
      const bRequestId = dom(xml).documentElement!.getAttribute('InResponseTo')!;
      expect(bRequestId).not.toBe(aRequestId);
      // Only the first (the unsigned Response's) occurrence: the Assertion is signed.
      return deliver(b, encode(xml.replace(`InResponseTo="${bRequestId}"`, `InResponseTo="${aRequestId}"`)), a.relayState);
    },
  },
  {
    name: 'unsolicited answer (no InResponseTo)',
    status: 400,
    code: 'unknown_state',
    run: async () => {
      const c = await genuine({ answer: { inResponseTo: null } });
      expect(decode(c.samlResponse)).not.toContain('InResponseTo');
      return deliver(c);
    },
  },
  {
    name: "replay of a used answer with a fresh transaction's RelayState",
    status: 400,
    code: 'assertion_replayed',
    run: async () => {
      const c = await genuine();
      await verified((await deliver(c)).html);
      const fresh = await begin('alice@contoso.com');
      return deliver(c, c.samlResponse, fresh.relayState);
    },
  },
  {
    name: 'replay of a used answer with its own RelayState',
    status: 400,
    code: 'unknown_state',
    run: async () => {
      const c = await genuine();
      await verified((await deliver(c)).html);
      return deliver(c);
    },
  },
  {
    name: "RelayState of another tenant's transaction (which stays usable)",
    status: 400,
    code: 'unknown_state',
    run: async () => {
      const bob = await atIdp('bob@fabrikam.com', { user: { nameId: 'bob@fabrikam.com' } });
      const c = await genuine();
      const refused = await deliver(c, c.samlResponse, bob.relayState);
      // Checked before taking: fabrikam's transaction was not burnt.
      expect((await verified((await deliver(bob)).html)).tid).toBe('fabrikam');
      return refused;
    },
  },
  {
    name: 'signature stripped',
    status: 400,
    code: 'assertion_unsigned',
    run: () => edited(stripSignatures),
  },
  {
    name: 'subject tampered after signing (NameID and upn attribute)',
    status: 400,
    code: 'assertion_invalid_signature',
    run: () => edited((x) => x.replaceAll('alice@contoso.com', 'mallory@contoso.com')),
  },
  {
    name: 'attribute added to the signed Assertion',
    status: 400,
    code: 'assertion_invalid_signature',
    run: () => edited((x) => x.replace('</saml:AttributeStatement>', '<saml:Attribute Name="http://schemas.xmlsoap.org/claims/Group"><saml:AttributeValue>Admins</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>')),
  },
  ...(['before', 'after'] as const).map(
    (where): Attack => ({
      name: `a second, unsigned assertion added ${where} the signed one`,
      status: 400,
      code: 'assertion_ambiguous',
      run: () =>
        edited((x) => {
          const d = dom(x);
          const signed = assertionOf(d);
          const evil = signed.cloneNode(true) as Element;
          for (const s of childrenNamed(evil, NS.ds, 'Signature')) evil.removeChild(s);
          evil.setAttribute('ID', '_evil');
          evil.getElementsByTagNameNS(NS.saml, 'NameID')[0]!.textContent = 'mallory@contoso.com';
          d.documentElement!.insertBefore(evil, where === 'before' ? signed : signed.nextSibling);
          return serialize(d);
        }),
    }),
  ),
  {
    name: 'signed assertion wrapped in Extensions, an evil copy in its place',
    status: 400,
    code: 'assertion_ambiguous',
    run: () =>
      edited((x) => {
        const d = dom(x);
        const signed = assertionOf(d);
        const evil = signed.cloneNode(true) as Element;
        evil.getElementsByTagNameNS(NS.saml, 'NameID')[0]!.textContent = 'mallory@contoso.com';
        const ext = d.createElementNS(NS.samlp, 'samlp:Extensions');
        d.documentElement!.replaceChild(evil, signed);
        ext.appendChild(signed);
        d.documentElement!.insertBefore(ext, childrenNamed(d.documentElement!, NS.samlp, 'Status')[0]!);
        return serialize(d);
      }),
  },
  {
    name: 'signed assertion moved into Extensions (nothing left where the Response says)',
    status: 400,
    code: 'assertion_missing',
    run: () =>
      edited((x) => {
        const d = dom(x);
        const signed = assertionOf(d);
        d.documentElement!.removeChild(signed);
        const ext = d.createElementNS(NS.samlp, 'samlp:Extensions');
        ext.appendChild(signed);
        d.documentElement!.insertBefore(ext, childrenNamed(d.documentElement!, NS.samlp, 'Status')[0]!);
        return serialize(d);
      }),
  },
  {
    name: 'tampered and re-signed with a foreign key whose certificate is in KeyInfo',
    status: 400,
    code: 'assertion_invalid_signature',
    run: () =>
      edited((x) => {
        const forged = resign(stripSignatures(x).replaceAll('alice@contoso.com', 'mallory@contoso.com'), foreign);
        expect(forged).toContain('<ds:X509Certificate>');
        return forged;
      }),
  },
  {
    name: "re-signed with the IdP's own key but RSA-SHA1 / SHA-1",
    status: 400,
    code: 'assertion_unsupported_algorithm',
    run: () => edited((x) => resign(stripSignatures(x), idp.keys, 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', 'http://www.w3.org/2000/09/xmldsig#sha1')),
  },
  {
    name: 'comment inside the NameID (the signature still verifies)',
    status: 400,
    code: 'assertion_malformed',
    run: () => edited((x) => x.replace('>alice@contoso.com</saml:NameID>', '>alice@contoso.com<!---->.evil.example</saml:NameID>')),
  },
  {
    name: 'a signed answer without AuthnStatement',
    status: 400,
    code: 'assertion_malformed',
    run: async () => {
      const c = await genuine({ answer: { authnStatement: false } });
      expect(decode(c.samlResponse)).not.toContain('AuthnStatement');
      return deliver(c);
    },
  },
  {
    name: 'IdP error status Responder / AuthnFailed',
    status: 403,
    code: 'upstream_denied',
    run: async () => {
      const r = await deliver(await genuine({ answer: { status: { code: 'urn:oasis:names:tc:SAML:2.0:status:Responder', subCode: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed', message: '<b>injected</b>' } } }));
      expect(r.html).toContain('AuthnFailed');
      expect(r.html).not.toContain('injected');
      return r;
    },
  },
  {
    name: 'expired (NotOnOrAfter 10 minutes ago, real clock)',
    status: 400,
    code: 'assertion_expired',
    run: async () => deliver(await genuine({ answer: { issueInstant: Date.now() - 20 * 60_000, notBefore: Date.now() - 20 * 60_000, notOnOrAfter: Date.now() - 10 * 60_000 } })),
  },
  {
    name: 'not yet valid (NotBefore in 20 minutes)',
    status: 400,
    code: 'assertion_not_yet_valid',
    run: async () => deliver(await genuine({ answer: { notBefore: Date.now() + 20 * 60_000, notOnOrAfter: Date.now() + 30 * 60_000 } })),
  },
  {
    name: 'wrong audience',
    status: 400,
    code: 'assertion_wrong_audience',
    run: async () => deliver(await genuine({ answer: { audience: `${svc.url}/saml/fabrikam` } })),
  },
  {
    name: 'answer posted to another tenant\'s ACS with its own RelayState',
    status: 400,
    code: 'unknown_state',
    run: async () => {
      const c = await genuine();
      return deliver(c, c.samlResponse, c.relayState, ANOTHER_ACS());
    },
  },
  {
    name: 'SAMLResponse not base64',
    status: 400,
    code: 'assertion_malformed',
    run: async () => {
      const c = await genuine();
      return deliver(c, '<samlp:Response/>!!');
    },
  },
  {
    name: 'SAMLResponse base64 of something that is not XML',
    status: 400,
    code: 'assertion_malformed',
    run: async () => {
      const c = await genuine();
      return deliver(c, encode('hello, not xml'));
    },
  },
  {
    name: 'SAMLResponse given twice',
    status: 400,
    code: 'invalid_request',
    run: async () => {
      const c = await genuine();
      return post(c.acs, new URLSearchParams([['SAMLResponse', c.samlResponse], ['SAMLResponse', c.samlResponse], ['RelayState', c.relayState]]));
    },
  },
  {
    name: 'SAMLResponse of more than 512 KiB decoded',
    status: 400,
    code: 'assertion_too_large',
    run: async () => {
      const c = await genuine();
      return deliver(c, encode(decode(c.samlResponse).replace('</samlp:Response>', `<!--${'x'.repeat(520 * 1024)}--></samlp:Response>`)));
    },
  },
  {
    name: 'a body larger than the ACS route accepts',
    status: 413,
    code: 'request_too_large',
    run: async () => {
      const c = await genuine();
      return deliver(c, 'A'.repeat(1024 * 1024));
    },
  },
  {
    name: 'no RelayState',
    status: 400,
    code: 'unknown_state',
    run: async () => {
      const c = await genuine();
      return post(c.acs, { SAMLResponse: c.samlResponse });
    },
  },
];

describe(`saml attack corpus (${attacks.length} cases)`, () => {
  for (const a of attacks) {
    it(`${a.name} → ${a.status} ${a.code}, no token, service healthy`, async () => {
      const { res, html } = await a.run();
      expectErrorPage(res, html, a.status, a.code);
      await healthy();
    });
  }

  it('the genuine answers the corpus is built from are accepted (the refusals are not the IdP set-up)', async () => {
    for (const opts of [{}, { sign: 'both' as const }]) {
      const c = await genuine(opts);
      expect((await verified((await deliver(c)).html)).upn).toBe('alice@contoso.com');
    }
  });
});

describe('IdP signing key rollover (metadataUrl)', () => {
  it('an answer signed with a new key is accepted once the refreshed metadata lists it; old and new are trusted at once', async () => {
    const original = idp.keys;
    const next = await makeKeyPair('samlify-test-idp-next');
    const user = { user: { nameId: 'rita@rollover.example' } };
    const signIn = async () => deliver(await atIdp('rita@rollover.example', user));
    try {
      // The metadata is fetched (and cached) with the original certificate only.
      expect((await verified((await signIn()).html)).tid).toBe('rollover');

      idp.rotate(next, [original, next]);
      // Within a minute of the last fetch the cache is not refreshed for an unknown key.
      const early = await signIn();
      expectErrorPage(early.res, early.html, 400, 'assertion_invalid_signature');

      // Later, an unknown key makes the service fetch the metadata again, which lists it now.
      svc.clock.advance(61_000);
      expect((await verified((await signIn()).html)).upn).toBe('rita@rollover.example');
      // During the rollover both certificates are trusted.
      idp.rotate(original, [original, next]);
      expect((await verified((await signIn()).html)).upn).toBe('rita@rollover.example');
    } finally {
      idp.rotate(original, [original]);
      svc.clock.t -= 61_000;
    }
  });
});
