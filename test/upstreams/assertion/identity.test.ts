/** From a validated assertion to the identity: claim defaults (docs/assertions.md "Identity mapping"), NameID fallback, groups, amr. */
import { describe, expect, it } from 'vitest';
import { CLAIM_URIS, MFA_METHOD, identityFromAssertion, type ValidatedAssertion } from '../../../src/upstreams/assertion/index.js';

function assertion(over: Partial<ValidatedAssertion> = {}): ValidatedAssertion {
  return {
    samlVersion: '1.1',
    assertionId: '_a',
    issuer: 'http://adfs.contoso.com/adfs/services/trust',
    nameId: 'CONTOSO\\alice',
    nameIdFormat: null,
    attributes: {},
    authnMethods: [],
    issueInstant: 1_700_000_000_123,
    notBefore: null,
    notOnOrAfter: 1_700_000_600_000,
    authnInstant: null,
    inResponseTo: null,
    ...over,
  };
}

describe('identityFromAssertion', () => {
  it('reads the AD FS claim URIs by default, groups from Group and role claims', () => {
    const who = identityFromAssertion(
      assertion({
        attributes: {
          [CLAIM_URIS.upn]: ['alice@contoso.com'],
          [CLAIM_URIS.email]: ['a@contoso.com'],
          [CLAIM_URIS.name]: ['Alice'],
          [CLAIM_URIS.group]: ['G1', 'G2'],
          [CLAIM_URIS.role]: ['G2', 'R1'],
        },
        authnInstant: 1_700_000_000_999,
      }),
    );
    expect(who).toEqual({
      subject: 'CONTOSO\\alice',
      upn: 'alice@contoso.com',
      email: 'a@contoso.com',
      name: 'Alice',
      groups: ['G1', 'G2', 'R1'],
      amr: [],
      authTime: 1_700_000_000,
    });
  });

  it('falls back to the NameID for the UPN; no group attribute means groups unknown (null)', () => {
    const who = identityFromAssertion(assertion());
    expect(who.upn).toBe('CONTOSO\\alice');
    expect(who.groups).toBeNull();
    expect(who.authTime).toBe(1_700_000_000);
  });

  it('configured claim names replace the defaults, with no NameID fallback for a configured UPN claim', () => {
    const a = assertion({ attributes: { mail: ['x@contoso.com'], memberOf: ['A'], [CLAIM_URIS.group]: ['ignored'] } });
    const who = identityFromAssertion(a, { upn: 'mail', groups: 'memberOf' });
    expect(who).toMatchObject({ upn: 'x@contoso.com', groups: ['A'] });
    expect(() => identityFromAssertion(a, { upn: 'userPrincipalName' })).toThrow(expect.objectContaining({ code: 'upstream_missing_claim' }));
  });

  it('amr: mfa from the authentication method or the authnmethodsreferences claim; pwd for password classes', () => {
    expect(identityFromAssertion(assertion({ authnMethods: [MFA_METHOD] })).amr).toEqual(['mfa']);
    expect(
      identityFromAssertion(
        assertion({
          authnMethods: ['urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'],
          attributes: { [CLAIM_URIS.authnMethodsReferences]: [MFA_METHOD] },
        }),
      ).amr,
    ).toEqual(['pwd', 'mfa']);
    expect(identityFromAssertion(assertion({ authnMethods: ['urn:oasis:names:tc:SAML:1.0:am:password'] })).amr).toEqual(['pwd']);
    expect(identityFromAssertion(assertion({ authnMethods: ['urn:example:multifactor-ish'] })).amr).toEqual([]);
  });

  it('an attribute named __proto__ is plain data', () => {
    const attributes: Record<string, string[]> = {};
    Object.defineProperty(attributes, '__proto__', { value: ['x'], enumerable: true });
    expect(identityFromAssertion(assertion({ attributes })).upn).toBe('CONTOSO\\alice');
  });
});
