/**
 * Genuine answers of the AD FS-shaped fixture through the shared validator: WS-Fed passive
 * (SAML 1.1 and 2.0, wresult as a WS-Trust 2005/02 RSTR and a 1.3 collection), the WS-Trust 1.3
 * STS, federation metadata (STS role only, rollover), and the fixture's misbehaving modes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FedbridgeError } from '../../../src/errors.js';
import {
  buildUsernameMixedRst,
  classifyStsAnswer,
  identityFromAssertion,
  readSamlIdpMetadata,
  readWsFedMetadata,
} from '../../../src/upstreams/assertion/index.js';
import { readAutoPostForm, startAdfsFixture, stsPost, wsfedSignIn, type AdfsFixture } from '../../fixtures/adfs/index.js';
import { ALICE, REALM, WREPLY, expectRefused, genuineWresult, replaySet, trustedCertificates, validateAssertion } from './helpers.js';

const APPLIES_TO = 'urn:fedbridge:contoso';
let idp: AdfsFixture;
let certs: string[];

beforeAll(async () => {
  idp = await startAdfsFixture();
  certs = await trustedCertificates(idp);
});
afterAll(async () => {
  await idp?.close();
});
beforeEach(() => {
  idp.options.mode = 'ok';
  idp.options.samlVersion = '1.1';
  idp.options.wresultShape = '1.3';
});

const check = (over: Partial<Parameters<typeof validateAssertion>[1]> = {}) => ({
  certificates: certs,
  audience: REALM,
  seen: replaySet(),
  ...over,
});

describe('federation metadata', () => {
  it('trusts the two signing certificates of the STS role only, never the encryption or other roles', async () => {
    const xml = await (await fetch(idp.metadataUrl)).text();
    const md = readWsFedMetadata(xml);
    expect(md.signingCertificates).toEqual([idp.keys.primary.certB64, idp.keys.secondary.certB64]);
    expect(md.signingCertificates).not.toContain(idp.keys.other.certB64);
    expect(md.passiveEndpoint).toBe(idp.passiveUrl);
    expect(md.entityId).toBe(idp.issuer);
    // The document is signed (its KeyInfo carries a certificate too): that is not a source of trust anchors.
    expect(xml).toContain('<ds:Signature');
  });

  it('reads the SAML 2.0 IdP role: its signing certificates and the HTTP-Redirect SSO address', async () => {
    const md = readSamlIdpMetadata(await (await fetch(idp.metadataUrl)).text());
    expect(md.signingCertificates).toEqual([idp.keys.primary.certB64, idp.keys.secondary.certB64]);
    expect(md.ssoRedirectUrl).toBe(idp.passiveUrl);
  });

  it('refuses metadata without an STS role, with a DOCTYPE, or that is not metadata', async () => {
    const xml = await (await fetch(idp.metadataUrl)).text();
    const noSts = xml.replace('fed:SecurityTokenServiceType', 'fed:ApplicationServiceType');
    expect(() => readWsFedMetadata(noSts)).toThrow(expect.objectContaining({ code: 'metadata_invalid', status: 502 }));
    expect(() => readWsFedMetadata(`<!DOCTYPE x [<!ENTITY e "x">]>${xml}`)).toThrow(expect.objectContaining({ code: 'metadata_invalid' }));
    expect(() => readWsFedMetadata('<html/>')).toThrow(expect.objectContaining({ code: 'metadata_invalid' }));
    // An STS role whose only certificate is for encryption trusts nothing.
    const encOnly = xml.replace(/<KeyDescriptor use="signing">/g, '<KeyDescriptor use="encryption">');
    expect(() => readWsFedMetadata(encOnly)).toThrow(expect.objectContaining({ code: 'metadata_invalid' }));
  });
});

describe('WS-Fed passive answers', () => {
  for (const version of ['1.1', '2.0'] as const) {
    for (const shape of ['1.3', '2005'] as const) {
      it(`validates SAML ${version} in a ${shape === '1.3' ? 'WS-Trust 1.3 collection' : 'WS-Trust 2005/02 RSTR'}`, async () => {
        idp.options.samlVersion = version;
        idp.options.wresultShape = shape;
        const page = await wsfedSignIn(idp, { realm: REALM, wreply: WREPLY, wctx: 'tx-42', ...ALICE });
        const form = readAutoPostForm(page.html)!;
        expect(form.action).toBe(WREPLY);
        expect(form.fields.wa).toBe('wsignin1.0');
        expect(form.fields.wctx).toBe('tx-42');
        const seen = replaySet();
        const a = await validateAssertion(form.fields.wresult!, check({ seen, recipient: WREPLY, issuer: idp.issuer }));
        expect(a.samlVersion).toBe(version);
        expect(a.issuer).toBe(idp.issuer);
        expect(a.nameId).toBe('alice@contoso.com');
        expect(seen.ids.has(a.assertionId)).toBe(true);
        expect(seen.ids.get(a.assertionId)).toBe(a.notOnOrAfter + 180_000);
        // Several Attribute elements of one name (SAML 1.1) or several values (2.0): all groups, unescaped.
        expect(a.attributes['http://schemas.xmlsoap.org/claims/Group']).toEqual(['Domain Users', 'MDM Enrollers', 'R&D <Lab>']);
        const who = identityFromAssertion(a);
        expect(who).toMatchObject({
          subject: 'alice@contoso.com',
          upn: 'alice@contoso.com',
          email: 'alice@contoso.com',
          name: 'Alice Martin',
          groups: ['Domain Users', 'MDM Enrollers', 'R&D <Lab>'],
          amr: ['pwd'],
        });
        expect(who.authTime).toBe(Math.floor(a.issueInstant / 1000));
      });
    }
  }

  it('accepts an answer signed with the secondary (rollover) certificate, and only with both trusted', async () => {
    idp.options.mode = 'secondary';
    const wresult = await genuineWresult(idp);
    expect((await validateAssertion(wresult, check())).nameId).toBe('alice@contoso.com');
    await expectRefused(validateAssertion(wresult, check({ certificates: [idp.keys.primary.certB64] })), 'assertion_invalid_signature');
  });

  it('a wrong password shows the form again and sends nothing to wreply', async () => {
    const page = await wsfedSignIn(idp, { realm: REALM, wreply: WREPLY, wctx: 'tx', username: ALICE.username, password: 'nope' });
    expect(page.status).toBe(200);
    expect(readAutoPostForm(page.html)).toBeNull();
    expect(page.html).toContain('Incorrect user ID or password.');
    idp.options.mode = 'wrong-password';
    expect(readAutoPostForm((await wsfedSignIn(idp, { realm: REALM, wreply: WREPLY, ...ALICE })).html)).toBeNull();
  });

  const modes = [
    ['expired', 'assertion_expired'],
    ['wrong-audience', 'assertion_wrong_audience'],
    ['unsigned', 'assertion_unsigned'],
    ['foreign-key', 'assertion_invalid_signature'],
    ['garbage', 'assertion_malformed'],
  ] as const;
  for (const [mode, code] of modes) {
    it(`refuses the fixture's ${mode} answer with ${code}`, async () => {
      idp.options.mode = mode;
      await expectRefused(validateAssertion(await genuineWresult(idp), check()), code);
    });
  }
});

describe('WS-Trust 1.3 STS (usernamemixed)', () => {
  const rst = (username: string, password: string) =>
    buildUsernameMixedRst({ endpoint: idp.stsUrl, appliesTo: APPLIES_TO, username, password, now: Date.now() });

  for (const version of ['1.1', '2.0'] as const) {
    it(`issues a SAML ${version} assertion in an RSTR collection that validates; DOMAIN\\user and MFA map to amr`, async () => {
      idp.options.samlVersion = version;
      const res = await stsPost(idp, rst('CONTOSO\\bob', 'B0b-secret'));
      expect(res.status).toBe(200);
      expect(classifyStsAnswer(res.body)).toEqual({ kind: 'token' });
      const a = await validateAssertion(res.body, check({ audience: APPLIES_TO }));
      const who = identityFromAssertion(a);
      expect(who).toMatchObject({ upn: 'bob@contoso.com', groups: ['Domain Users'] });
      expect(who.amr).toContain('mfa');
    });
  }

  it('a wrong password is HTTP 500 with subcode a:FailedAuthentication, read as such', async () => {
    const res = await stsPost(idp, rst(ALICE.username, 'wrong'));
    expect(res.status).toBe(500);
    expect(classifyStsAnswer(res.body)).toEqual({ kind: 'failed_authentication' });
    idp.options.mode = 'wrong-password';
    expect(classifyStsAnswer((await stsPost(idp, rst(ALICE.username, ALICE.password))).body)).toEqual({ kind: 'failed_authentication' });
  });

  it('password characters that XML must escape travel intact; characters XML cannot carry are refused', async () => {
    const user = { password: `<&"'>]]>`, upn: 'carol@contoso.com' };
    idp.options.users = { ...idp.options.users, carol: user };
    const res = await stsPost(idp, rst('carol', user.password));
    expect(classifyStsAnswer(res.body)).toEqual({ kind: 'token' });
    expect(() => rst('carol', 'a\u0000b')).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });

  it('garbage and other faults are upstream errors (502), never a token', async () => {
    idp.options.mode = 'garbage';
    const garbage = await stsPost(idp, rst(ALICE.username, ALICE.password));
    expect(() => classifyStsAnswer(garbage.body)).toThrow(expect.objectContaining({ code: 'upstream_error', status: 502 }));
    idp.options.mode = 'ok';
    const bad = await stsPost(idp, '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>');
    expect(bad.status).toBe(500);
    expect(() => classifyStsAnswer(bad.body)).toThrow(expect.objectContaining({ code: 'upstream_error' }));
  });

  for (const [mode, code] of [
    ['expired', 'assertion_expired'],
    ['wrong-audience', 'assertion_wrong_audience'],
    ['unsigned', 'assertion_unsigned'],
    ['foreign-key', 'assertion_invalid_signature'],
  ] as const) {
    it(`refuses the STS's ${mode} token with ${code}`, async () => {
      idp.options.mode = mode;
      const res = await stsPost(idp, rst(ALICE.username, ALICE.password));
      expect(classifyStsAnswer(res.body)).toEqual({ kind: 'token' });
      await expectRefused(validateAssertion(res.body, check({ audience: APPLIES_TO })), code);
    });
  }

  it('slow mode answers after its delay (a client deadline cuts it)', async () => {
    idp.options.mode = 'slow';
    idp.options.slowMs = 2000;
    const err = await stsPost(idp, rst(ALICE.username, ALICE.password), AbortSignal.timeout(200)).catch((e: unknown) => e);
    expect((err as Error).name).toBe('TimeoutError');
    expect(err).not.toBeInstanceOf(FedbridgeError);
  });
});
