/**
 * A scriptable SAML 2.0 IdP for the fast suite (issue #8): samlify as the IdP, on 127.0.0.1.
 *  - GET /metadata: the IdP metadata (one signing certificate, HTTP-Redirect SingleSignOnService);
 *  - GET /sso: takes the Redirect-binding AuthnRequest (its signature checked by samlify when
 *    `wantAuthnRequestsSigned`), "logs in" the configured user and answers an auto-POST form with
 *    SAMLResponse + RelayState to the SP's ACS (read from the SP metadata at `<Issuer>/metadata`,
 *    Fedbridge's SP metadata route).
 * The answer's template carries an AuthnStatement (samlify's default leaves it empty). By default
 * only the Assertion is signed (the SP metadata says WantAssertionsSigned="true"); `sign` also
 * signs the Response, signs only the Response, or strips every signature. `answer` breaks the
 * answer before it is signed, for the attack corpus. Keys come from `openssl` at start.
 */
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import * as samlify from 'samlify';

const execFileP = promisify(execFile);

// samlify wants an XML schema validator before it parses anything. A test IdP parsing requests
// from the SP under test can do without one: the hook below accepts every document unchecked.
samlify.setSchemaValidator({ validate: async () => 'skipped' });

export const AC_PASSWORD = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
export const AC_MFA = 'http://schemas.microsoft.com/ws/2012/12/authmethod/multifactor';
export const UPN_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn';

export interface KeyPair {
  keyPem: string;
  certPem: string;
  /** Base64 DER. */
  certB64: string;
}

/** An RSA key and self-signed certificate made by `openssl` (as test/fixtures/adfs/keys.ts does). */
export async function makeKeyPair(cn: string): Promise<KeyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'fedbridge-samlify-'));
  try {
    const keyPath = join(dir, 'k.pem');
    const certPath = join(dir, 'c.pem');
    await execFileP('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-sha256', '-nodes', '-days', '2', '-subj', `/CN=${cn}`, '-keyout', keyPath, '-out', certPath]);
    const certPem = readFileSync(certPath, 'utf8');
    return { keyPem: readFileSync(keyPath, 'utf8'), certPem, certB64: new X509Certificate(certPem).raw.toString('base64') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface SamlifyUser {
  nameId: string;
  nameIdFormat?: string;
  /** Attribute name → values. */
  attributes?: Record<string, string[]>;
  /** AuthnContextClassRef; default PasswordProtectedTransport. */
  authnContextClassRef?: string;
}

/** What to put in the answer before it is signed (the attack corpus). */
export interface AnswerOverrides {
  destination?: string;
  recipient?: string;
  audience?: string;
  /** null: no InResponseTo at all (an unsolicited answer). */
  inResponseTo?: string | null;
  /** Epoch ms; default now - 0 / now + 5 min. */
  notBefore?: number;
  notOnOrAfter?: number;
  issueInstant?: number;
  /** false: no AuthnStatement. */
  authnStatement?: boolean;
  /** A failed status (top code and sub-code) and no assertion. */
  status?: { code: string; subCode?: string; message?: string };
}

export interface SamlifyIdpOptions {
  user: SamlifyUser;
  /** Which signatures the answer carries; default 'assertion'. */
  sign?: 'assertion' | 'both' | 'response' | 'none';
  wantAuthnRequestsSigned?: boolean;
  answer?: AnswerOverrides;
}

export interface SsoRequest {
  /** The AuthnRequest XML (inflated). */
  xml: string;
  query: URLSearchParams;
  /** The raw query string as received (the Redirect-binding signature covers its encoding). */
  rawQuery: string;
}

export interface SamlifyIdp {
  url: string;
  entityId: string;
  metadataUrl: string;
  ssoUrl: string;
  metadataXml: string;
  keys: KeyPair;
  /** Options used by the next sign-in (mutable between requests). */
  options: SamlifyIdpOptions;
  /** The last AuthnRequest received. */
  lastRequest: SsoRequest | null;
  /** Why the last SSO request was refused (e.g. a bad request signature), or null. */
  lastError: string | null;
  /**
   * Key rollover: answers are signed with `signWith` from now on, and the metadata publishes the
   * certificates of `publish` (e.g. the old and the new one during a rollover).
   */
  rotate(signWith: KeyPair, publish: KeyPair[]): void;
  close(): Promise<void>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function attributeStatement(attrs: Record<string, string[]>): string {
  const names = Object.keys(attrs);
  if (names.length === 0) return '';
  const items = names
    .map(
      (n) =>
        `<saml:Attribute Name="${esc(n)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">` +
        attrs[n]!.map((v) => `<saml:AttributeValue xsi:type="xs:string">${esc(v)}</saml:AttributeValue>`).join('') +
        '</saml:Attribute>',
    )
    .join('');
  return `<saml:AttributeStatement>${items}</saml:AttributeStatement>`;
}

const STATUS_TEMPLATE =
  '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}"><saml:Issuer>{Issuer}</saml:Issuer><samlp:Status>{StatusCodes}</samlp:Status></samlp:Response>';

/** Starts the IdP on a free 127.0.0.1 port. */
export async function startSamlifyIdp(initial: SamlifyIdpOptions): Promise<SamlifyIdp> {
  const keys = await makeKeyPair('samlify-test-idp');
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const entityId = `${url}/metadata`;
  const ssoUrl = `${url}/sso`;
  let signing = keys;
  const idp = (wantAuthnRequestsSigned: boolean, published: KeyPair[] = [signing]) =>
    samlify.IdentityProvider({
      entityID: entityId,
      privateKey: signing.keyPem,
      signingCert: published.length === 1 ? published[0]!.certPem : published.map((k) => k.certPem),
      requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      wantAuthnRequestsSigned,
      nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'],
      singleSignOnService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: ssoUrl }],
      singleLogoutService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: `${url}/slo` }],
      generateID: () => `_${randomBytes(20).toString('hex')}`,
    });
  let metadataXml = idp(false).getMetadata();

  const handle: SamlifyIdp = {
    url,
    entityId,
    metadataUrl: `${url}/metadata`,
    ssoUrl,
    metadataXml,
    keys,
    options: initial,
    lastRequest: null,
    lastError: null,
    rotate(signWith, publish) {
      signing = signWith;
      metadataXml = idp(false, publish).getMetadata();
      handle.metadataXml = metadataXml;
    },
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
    },
  };

  async function sso(reqUrl: URL, rawQuery: string): Promise<string> {
    const o = handle.options;
    const samlRequest = reqUrl.searchParams.get('SAMLRequest');
    if (!samlRequest) throw new Error('no SAMLRequest');
    const xml = inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8');
    handle.lastRequest = { xml, query: reqUrl.searchParams, rawQuery };
    const issuer = /<(?:\w+:)?Issuer[^>]*>([^<]+)<\/(?:\w+:)?Issuer>/.exec(xml)?.[1];
    if (!issuer) throw new Error('AuthnRequest without Issuer');
    // Fedbridge publishes its SP metadata at <entity ID>/metadata (the default entity ID).
    const mdRes = await fetch(`${issuer}/metadata`);
    if (mdRes.status !== 200) throw new Error(`SP metadata answered ${mdRes.status}`);
    let spMetadata = await mdRes.text();
    const sign = o.sign ?? 'assertion';
    // samlify signs the Assertion when the SP wants it, the Response when the SP wants the
    // message signed or does not want the assertion signed.
    if (sign === 'response') spMetadata = spMetadata.replace(/WantAssertionsSigned="true"/, 'WantAssertionsSigned="false"');
    const sp = samlify.ServiceProvider({ metadata: spMetadata, wantMessageSigned: sign === 'both' });
    const theIdp = idp(o.wantAuthnRequestsSigned ?? false);
    // The octet string the Redirect-binding signature covers: the parameters as received.
    const parts = rawQuery.split('&');
    const pick = (name: string) => parts.find((p) => p.startsWith(`${name}=`));
    const octetString = ['SAMLRequest', 'RelayState', 'SigAlg'].map(pick).filter(Boolean).join('&');
    const info = await theIdp.parseLoginRequest(sp, 'redirect', { query: Object.fromEntries(reqUrl.searchParams), octetString });
    const requestId = String((info.extract.request as Record<string, string>).id);
    const acs = String(sp.entityMeta.getAssertionConsumerService('post'));
    const relayState = reqUrl.searchParams.get('RelayState') ?? undefined;
    const a = o.answer ?? {};
    const now = Date.now();
    const user = o.user;
    const values = {
      ID: `_${randomBytes(20).toString('hex')}`,
      AssertionID: `_${randomBytes(20).toString('hex')}`,
      Destination: a.destination ?? acs,
      Audience: a.audience ?? sp.entityMeta.getEntityID(),
      SubjectRecipient: a.recipient ?? acs,
      Issuer: entityId,
      IssueInstant: iso(a.issueInstant ?? now),
      StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
      ConditionsNotBefore: iso(a.notBefore ?? now),
      ConditionsNotOnOrAfter: iso(a.notOnOrAfter ?? now + 5 * 60_000),
      SubjectConfirmationDataNotOnOrAfter: iso(a.notOnOrAfter ?? now + 5 * 60_000),
      NameIDFormat: user.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
      NameID: user.nameId,
      InResponseTo: a.inResponseTo === undefined ? requestId : a.inResponseTo,
    };
    const authn =
      a.authnStatement === false
        ? ''
        : `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="_s${randomBytes(8).toString('hex')}"><saml:AuthnContext><saml:AuthnContextClassRef>${esc(user.authnContextClassRef ?? AC_PASSWORD)}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
    let context: string;
    if (a.status) {
      // An error answer: Status only, no assertion, unsigned (as IdPs commonly send them).
      const codes =
        `<samlp:StatusCode Value="${esc(a.status.code)}">` +
        (a.status.subCode ? `<samlp:StatusCode Value="${esc(a.status.subCode)}"/>` : '') +
        '</samlp:StatusCode>' +
        (a.status.message ? `<samlp:StatusMessage>${esc(a.status.message)}</samlp:StatusMessage>` : '');
      const xmlOut = samlify.SamlLib.replaceTagsByValue(STATUS_TEMPLATE, { ...values, InResponseTo: values.InResponseTo ?? undefined }).replace('{StatusCodes}', codes);
      context = Buffer.from(xmlOut, 'utf8').toString('base64');
    } else {
      const res = await theIdp.createLoginResponse(sp, info as unknown as Parameters<typeof theIdp.createLoginResponse>[1], 'post', { email: user.nameId }, {
        relayState,
        customTagReplacement: (template: string) => {
          let out = samlify.SamlLib.replaceTagsByValue(template, { ...values, InResponseTo: values.InResponseTo ?? undefined, AuthnStatement: '{AuthnStatement}', AttributeStatement: '{AttributeStatement}' });
          // Filled in after the escaping replacement: these are markup, not text.
          out = out.replace('{AuthnStatement}', authn).replace('{AttributeStatement}', attributeStatement(user.attributes ?? {}));
          return { id: values.ID, context: out };
        },
      });
      context = res.context;
      if (sign === 'none') {
        const stripped = Buffer.from(context, 'base64').toString('utf8').replace(/<ds:Signature\b[\s\S]*?<\/ds:Signature>/g, '');
        context = Buffer.from(stripped, 'utf8').toString('base64');
      }
    }
    const fields = { SAMLResponse: context, ...(relayState !== undefined ? { RelayState: relayState } : {}) };
    const inputs = Object.entries(fields)
      .map(([k, v]) => `<input type="hidden" name="${k}" value="${esc(v)}"/>`)
      .join('');
    return `<!doctype html><html><body onload="document.forms[0].submit()"><form method="post" action="${esc(acs)}">${inputs}<button>Continue</button></form></body></html>`;
  }

  server.on('request', (req, res) => {
    const u = new URL(req.url ?? '/', url);
    const rawQuery = (req.url ?? '').split('?')[1] ?? '';
    if (u.pathname === '/metadata') {
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' });
      res.end(metadataXml);
      return;
    }
    if (u.pathname === '/sso') {
      sso(u, rawQuery).then(
        (html) => {
          handle.lastError = null;
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(html);
        },
        (err: unknown) => {
          handle.lastError = String((err as Error)?.message ?? err);
          res.writeHead(400, { 'content-type': 'text/plain' });
          res.end(`refused: ${handle.lastError}`);
        },
      );
      return;
    }
    res.writeHead(404);
    res.end();
  });
  return handle;
}
