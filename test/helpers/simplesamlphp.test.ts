/**
 * The SimpleSAMLphp test peer works on its own, without Fedbridge: both metadata documents,
 * a full WS-Federation sign-in (adfs module) and a full SAML 2.0 sign-in, driven over plain
 * HTTP with the helpers that the end-to-end tests reuse. Signatures are verified against the
 * metadata's certificate, so the peer is known to be a real, signing IdP (PROTOCOL.md §8).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CookieJar,
  SSP_CLAIMS,
  authnRequestUrl,
  findLoginForm,
  follow,
  signInAtIdp,
  startSimpleSamlPhp,
  submitLogin,
  wsfedSignInUrl,
  type SimpleSamlPhp,
} from './simplesamlphp.js';

const NS = {
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  fed: 'http://docs.oasis-open.org/wsfed/federation/200706',
  wsa: 'http://www.w3.org/2005/08/addressing',
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml2: 'urn:oasis:names:tc:SAML:2.0:assertion',
  saml1: 'urn:oasis:names:tc:SAML:1.0:assertion',
  wst2005: 'http://schemas.xmlsoap.org/ws/2005/02/trust',
};

// Ports of the SPs: nothing listens there; the tests stop at the IdP's auto-POST form.
const SP = 'http://127.0.0.1:9';
const SAML_SP = { entityId: `${SP}/saml/contoso`, acs: `${SP}/saml/contoso/acs` };
const WSFED_SP = { realm: `${SP}/wsfed/contoso`, wreply: `${SP}/wsfed/contoso` };
const ALICE = {
  username: 'alice',
  password: 'correct horse',
  upn: 'alice@contoso.test',
  email: 'alice.smith@contoso.test',
  name: 'Alice Smith',
  groups: ['Enrollers', 'Staff & Friends'],
};

function parse(xml: string): Document {
  return new DOMParser().parseFromString(xml, 'text/xml');
}

function all(node: Document | Element, ns: string, local: string): Element[] {
  return Array.from(node.getElementsByTagNameNS(ns, local));
}

function one(node: Document | Element, ns: string, local: string): Element {
  const found = all(node, ns, local);
  expect(found, `${local} elements`).toHaveLength(1);
  return found[0];
}

function childrenNamed(el: Element, ns: string, local: string): Element[] {
  return Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === local);
}

function pem(base64: string): string {
  return `-----BEGIN CERTIFICATE-----\n${base64.replace(/\s+/g, '').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
}

/** The signing certificate a metadata role publishes (exactly one, use="signing"). */
function signingCert(role: Element): string {
  const kds = childrenNamed(role, NS.md, 'KeyDescriptor').filter((k) => k.getAttribute('use') === 'signing');
  expect(kds).toHaveLength(1);
  return one(kds[0], NS.ds, 'X509Certificate').textContent!.replace(/\s+/g, '');
}

/**
 * xml-crypto with only the given certificate. `ID` is already among its id attributes; naming it
 * again makes it count each element twice ("multiple elements with the same ID", PROTOCOL.md §8).
 */
function verifier(certPem: string, idAttribute: string): SignedXml {
  return new SignedXml({ publicCert: certPem, getCertFromKeyInfo: () => null, ...(idAttribute === 'ID' ? {} : { idAttribute }) });
}

/**
 * Verifies the ds:Signature that is a direct child of `signed` with `certPem` only (never the
 * certificate in KeyInfo) and checks that its one reference names `signed` by its id attribute.
 */
function verifyEnveloped(xml: string, signed: Element, idAttribute: string, certPem: string): void {
  const sigs = childrenNamed(signed, NS.ds, 'Signature');
  expect(sigs, `signature inside ${signed.localName}`).toHaveLength(1);
  const sig = verifier(certPem, idAttribute);
  sig.loadSignature(sigs[0] as unknown as Parameters<typeof sig.loadSignature>[0]);
  expect(sig.checkSignature(xml)).toBe(true);
  const refs = sig.getReferences();
  expect(refs).toHaveLength(1);
  expect(refs[0].uri).toBe(`#${signed.getAttribute(idAttribute)}`);
}

function verifyFails(xml: string, signed: Element, idAttribute: string, certPem: string): void {
  const sig = verifier(certPem, idAttribute);
  sig.loadSignature(childrenNamed(signed, NS.ds, 'Signature')[0] as unknown as Parameters<typeof sig.loadSignature>[0]);
  let ok: boolean;
  try {
    ok = sig.checkSignature(xml);
  } catch {
    ok = false;
  }
  expect(ok).toBe(false);
}

describe('SimpleSAMLphp test peer (default: Response and Assertion signed)', () => {
  let ssp: SimpleSamlPhp;
  let samlCert: string;
  let wsfedCert: string;

  beforeAll(async () => {
    ssp = await startSimpleSamlPhp({ users: [ALICE], samlSps: [SAML_SP], wsfedSps: [WSFED_SP] });
  });
  afterAll(async () => {
    await ssp?.stop();
  });

  it('serves SAML IdP metadata with a signing certificate and an HTTP-Redirect SingleSignOnService', async () => {
    const res = await fetch(ssp.saml.metadataUrl);
    expect(res.status).toBe(200);
    const doc = parse(await res.text());
    const ed = doc.documentElement!;
    expect(ed.namespaceURI).toBe(NS.md);
    expect(ed.localName).toBe('EntityDescriptor');
    expect(ed.getAttribute('entityID')).toBe(ssp.saml.entityId);
    const idp = one(doc, NS.md, 'IDPSSODescriptor');
    const cert = signingCert(idp);
    samlCert = pem(cert);
    // The very certificate generated for this run, and a parseable X.509 one.
    expect(new X509Certificate(samlCert).fingerprint256).toBe(new X509Certificate(ssp.certificatePem).fingerprint256);
    const sso = childrenNamed(idp, NS.md, 'SingleSignOnService');
    expect(sso.map((s) => s.getAttribute('Binding'))).toEqual(['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect']);
    expect(sso[0].getAttribute('Location')).toBe(ssp.saml.ssoUrl);
  });

  it('serves WS-Fed metadata with a SecurityTokenServiceType role, its certificate and a PassiveRequestorEndpoint', async () => {
    const res = await fetch(ssp.wsfed.metadataUrl);
    expect(res.status).toBe(200);
    const doc = parse(await res.text());
    expect(doc.documentElement!.getAttribute('entityID')).toBe(ssp.wsfed.entityId);
    const roles = all(doc, NS.md, 'RoleDescriptor');
    expect(roles).toHaveLength(1);
    const type = roles[0].getAttributeNS(NS.xsi, 'type')!;
    const [prefix, local] = type.split(':');
    expect(roles[0].lookupNamespaceURI(prefix)).toBe(NS.fed);
    expect(local).toBe('SecurityTokenServiceType');
    wsfedCert = pem(signingCert(roles[0]));
    expect(new X509Certificate(wsfedCert).fingerprint256).toBe(new X509Certificate(ssp.certificatePem).fingerprint256);
    const prp = one(roles[0], NS.fed, 'PassiveRequestorEndpoint');
    expect(one(prp, NS.wsa, 'Address').textContent!.trim()).toBe(ssp.wsfed.passiveEndpoint);
  });

  it('answers a WS-Fed sign-in with wa, wctx and a signed SAML 1.1 assertion for the realm', async () => {
    const jar = new CookieJar();
    const url = wsfedSignInUrl({ passiveEndpoint: ssp.wsfed.passiveEndpoint, realm: WSFED_SP.realm, wreply: WSFED_SP.wreply, wctx: 'abc' });
    const { form, prompted, page } = await signInAtIdp(jar, url, ALICE, ['wa', 'wresult', 'wctx']);
    expect(prompted).toBe(true);
    expect(page.url).toContain('/module.php/core/loginuserpass.php');
    expect(form.method).toBe('post');
    expect(form.action).toBe(WSFED_SP.wreply);
    expect(form.fields.wa).toBe('wsignin1.0');
    expect(form.fields.wctx).toBe('abc');

    const xml = form.fields.wresult;
    const doc = parse(xml);
    expect(doc.documentElement!.namespaceURI).toBe(NS.wst2005);
    expect(doc.documentElement!.localName).toBe('RequestSecurityTokenResponse');
    const assertion = one(doc, NS.saml1, 'Assertion');
    expect(assertion.getAttribute('Issuer')).toBe(ssp.wsfed.entityId);
    verifyEnveloped(xml, assertion, 'AssertionID', wsfedCert ?? ssp.certificatePem);
    expect(one(assertion, NS.saml1, 'Audience').textContent).toBe(WSFED_SP.realm);
    for (const nid of all(assertion, NS.saml1, 'NameIdentifier')) expect(nid.textContent).toBe(ALICE.upn);

    // Claim URIs split into AttributeNamespace + AttributeName; one Attribute per group.
    const attrs = all(assertion, NS.saml1, 'Attribute').map((a) => ({
      uri: `${a.getAttribute('AttributeNamespace')}/${a.getAttribute('AttributeName')}`,
      value: one(a, NS.saml1, 'AttributeValue').textContent,
    }));
    const values = (uri: string) => attrs.filter((a) => a.uri === uri).map((a) => a.value);
    expect(values(SSP_CLAIMS.upn)).toEqual([ALICE.upn]);
    expect(values(SSP_CLAIMS.email)).toEqual([ALICE.email]);
    expect(values(SSP_CLAIMS.name)).toEqual([ALICE.name]);
    expect(values(SSP_CLAIMS.groups)).toEqual(ALICE.groups);

    // The signature means something: one changed character in the signed assertion breaks it.
    const tampered = xml.replace(`>${ALICE.upn}<`, `>mallory@contoso.test<`);
    expect(tampered).not.toBe(xml);
    verifyFails(tampered, one(parse(tampered), NS.saml1, 'Assertion'), 'AssertionID', ssp.certificatePem);
  });

  it('re-shows its login form on a wrong password and sends nothing', async () => {
    const jar = new CookieJar();
    const url = wsfedSignInUrl({ passiveEndpoint: ssp.wsfed.passiveEndpoint, realm: WSFED_SP.realm, wreply: WSFED_SP.wreply, wctx: 'abc' });
    const first = await follow(jar, url);
    expect(findLoginForm(first)).toBeDefined();
    const again = await submitLogin(jar, first, ALICE.username, 'wrong password');
    expect(again.status).toBe(200);
    expect(findLoginForm(again)).toBeDefined();
    expect(again.body).not.toContain('wresult');
  });

  it('refuses an unknown realm until setRelyingParties adds it', async () => {
    const realm = `${SP}/wsfed/fabrikam`;
    const url = wsfedSignInUrl({ passiveEndpoint: ssp.wsfed.passiveEndpoint, realm, wreply: realm, wctx: 'x' });
    await expect(signInAtIdp(new CookieJar(), url, ALICE, ['wresult'])).rejects.toThrow(/page "Error processing request from Service Provider"/);
    ssp.setRelyingParties({ wsfedSps: [WSFED_SP, { realm, wreply: realm }] });
    try {
      const { form } = await signInAtIdp(new CookieJar(), url, ALICE, ['wa', 'wresult', 'wctx']);
      expect(form.action).toBe(realm);
      expect(one(parse(form.fields.wresult), NS.saml1, 'Audience').textContent).toBe(realm);
      // The SAML SPs were kept.
      const req = authnRequestUrl({ ssoUrl: ssp.saml.ssoUrl, entityId: SAML_SP.entityId, acsUrl: SAML_SP.acs });
      expect((await signInAtIdp(new CookieJar(), req.url, ALICE, ['SAMLResponse'])).form.action).toBe(SAML_SP.acs);
    } finally {
      ssp.setRelyingParties({ wsfedSps: [WSFED_SP] });
    }
  });

  it('answers a SAML AuthnRequest with a signed Response and Assertion posted to the ACS', async () => {
    const jar = new CookieJar();
    const req = authnRequestUrl({ ssoUrl: ssp.saml.ssoUrl, entityId: SAML_SP.entityId, acsUrl: SAML_SP.acs, relayState: 'rs-123' });
    // The request really is Redirect-binding encoded.
    expect(inflateRawSync(Buffer.from(new URL(req.url).searchParams.get('SAMLRequest')!, 'base64')).toString()).toBe(req.xml);
    const { form, prompted } = await signInAtIdp(jar, req.url, ALICE, ['SAMLResponse', 'RelayState']);
    expect(prompted).toBe(true);
    expect(form.method).toBe('post');
    expect(form.action).toBe(SAML_SP.acs);
    expect(form.fields.RelayState).toBe('rs-123');

    const xml = Buffer.from(form.fields.SAMLResponse, 'base64').toString('utf8');
    const doc = parse(xml);
    const response = doc.documentElement!;
    expect(response.namespaceURI).toBe(NS.samlp);
    expect(response.localName).toBe('Response');
    expect(response.getAttribute('Destination')).toBe(SAML_SP.acs);
    expect(response.getAttribute('InResponseTo')).toBe(req.id);
    expect(one(doc, NS.samlp, 'StatusCode').getAttribute('Value')).toBe('urn:oasis:names:tc:SAML:2.0:status:Success');
    const cert = samlCert ?? ssp.certificatePem;
    verifyEnveloped(xml, response, 'ID', cert);
    const assertion = one(doc, NS.saml2, 'Assertion');
    verifyEnveloped(xml, assertion, 'ID', cert);

    expect(one(assertion, NS.saml2, 'Issuer').textContent).toBe(ssp.saml.entityId);
    expect(one(assertion, NS.saml2, 'Audience').textContent).toBe(SAML_SP.entityId);
    const scd = one(assertion, NS.saml2, 'SubjectConfirmationData');
    expect(scd.getAttribute('Recipient')).toBe(SAML_SP.acs);
    expect(scd.getAttribute('InResponseTo')).toBe(req.id);
    expect(one(assertion, NS.saml2, 'AuthnContextClassRef').textContent).toBe('urn:oasis:names:tc:SAML:2.0:ac:classes:Password');
    const attr = (name: string) =>
      all(assertion, NS.saml2, 'Attribute')
        .filter((a) => a.getAttribute('Name') === name)
        .flatMap((a) => all(a, NS.saml2, 'AttributeValue').map((v) => v.textContent));
    expect(attr(SSP_CLAIMS.upn)).toEqual([ALICE.upn]);
    expect(attr(SSP_CLAIMS.email)).toEqual([ALICE.email]);
    expect(attr(SSP_CLAIMS.name)).toEqual([ALICE.name]);
    expect(attr(SSP_CLAIMS.groups)).toEqual(ALICE.groups);

    // A second sign-in in the same window is answered from the SSO session, without a prompt.
    const again = authnRequestUrl({ ssoUrl: ssp.saml.ssoUrl, entityId: SAML_SP.entityId, acsUrl: SAML_SP.acs, relayState: 'rs-2' });
    const second = await signInAtIdp(jar, again.url, ALICE, ['SAMLResponse']);
    expect(second.prompted).toBe(false);
    expect(second.form.fields.RelayState).toBe('rs-2');
    // Unless the request asks for ForceAuthn.
    const forced = authnRequestUrl({ ssoUrl: ssp.saml.ssoUrl, entityId: SAML_SP.entityId, acsUrl: SAML_SP.acs, forceAuthn: true });
    expect((await signInAtIdp(jar, forced.url, ALICE, ['SAMLResponse'])).prompted).toBe(true);
  });

  it('never posts to an ACS URL missing from the SP metadata (1.19 falls back to the registered one)', async () => {
    const req = authnRequestUrl({ ssoUrl: ssp.saml.ssoUrl, entityId: SAML_SP.entityId, acsUrl: `${SP}/elsewhere/acs`, relayState: 'r' });
    const { form } = await signInAtIdp(new CookieJar(), req.url, ALICE, ['SAMLResponse']);
    expect(form.action).toBe(SAML_SP.acs);
    const response = parse(Buffer.from(form.fields.SAMLResponse, 'base64').toString('utf8')).documentElement!;
    expect(response.getAttribute('Destination')).toBe(SAML_SP.acs);
  });

  it('refuses an AuthnRequest from an unknown SP entity ID', async () => {
    const req = authnRequestUrl({ ssoUrl: ssp.saml.ssoUrl, entityId: `${SP}/saml/unknown`, acsUrl: `${SP}/saml/unknown/acs`, relayState: 'r' });
    await expect(signInAtIdp(new CookieJar(), req.url, ALICE, ['SAMLResponse'])).rejects.toThrow(/page "Metadata not found"/);
  });

  it('refuses a wreply whose host is not in trusted.url.domains', async () => {
    const url = wsfedSignInUrl({ passiveEndpoint: ssp.wsfed.passiveEndpoint, realm: WSFED_SP.realm, wreply: 'http://evil.test/wsfed', wctx: 'x' });
    const page = await follow(new CookieJar(), url);
    expect(page.body).toContain('URL not allowed');
    expect(page.body).not.toContain('wresult');
  });
});

describe('SimpleSAMLphp test peer variants', () => {
  it('signs only the Assertion and uses short attribute names when asked', async () => {
    const ssp = await startSimpleSamlPhp({
      users: [ALICE],
      samlSps: [SAML_SP],
      signResponse: false,
      signAssertion: true,
      samlAttributeNames: 'short',
    });
    try {
      const req = authnRequestUrl({ ssoUrl: ssp.saml.ssoUrl, entityId: SAML_SP.entityId, acsUrl: SAML_SP.acs, relayState: 'v' });
      const { form } = await signInAtIdp(new CookieJar(), req.url, ALICE, ['SAMLResponse']);
      const xml = Buffer.from(form.fields.SAMLResponse, 'base64').toString('utf8');
      const doc = parse(xml);
      expect(childrenNamed(doc.documentElement!, NS.ds, 'Signature')).toHaveLength(0);
      const assertion = one(doc, NS.saml2, 'Assertion');
      verifyEnveloped(xml, assertion, 'ID', ssp.certificatePem);
      const names = all(assertion, NS.saml2, 'Attribute').map((a) => a.getAttribute('Name'));
      expect(names.sort()).toEqual(['email', 'groups', 'name', 'upn']);
    } finally {
      await ssp.stop();
    }
    // Stopped cleanly: the php process no longer answers and the temp dir is gone.
    await expect(fetch(ssp.saml.metadataUrl)).rejects.toThrow();
    expect(existsSync(ssp.logFiles.simplesamlphp)).toBe(false);
    expect(existsSync(dirname(dirname(ssp.logFiles.simplesamlphp)))).toBe(false);
  });
});
