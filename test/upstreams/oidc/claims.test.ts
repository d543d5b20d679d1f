/** ID token claims → Identity, and the issuer rules, without any HTTP. */
import { describe, expect, it } from 'vitest';
import { idpSchema, type OidcIdpConfig } from '../../../src/config/schema.js';
import { acrOf, amrOf, groupsOf, identityFromClaims, subjectOf } from '../../../src/upstreams/oidc/claims.js';
import { checkTenant, discoveryUrl, matchDiscoveredIssuer } from '../../../src/upstreams/oidc/issuer.js';
import { FedbridgeError } from '../../../src/errors.js';

const cfg = (extra: Record<string, unknown> = {}) =>
  idpSchema.parse({ kind: 'oidc', issuer: 'https://idp.example.com', clientId: 'c', clientSecret: 's', ...extra }) as OidcIdpConfig;
const NOW = 1_800_000_000_000;
const map = (claims: Record<string, unknown>, extra?: Record<string, unknown>) =>
  identityFromClaims(claims, { cfg: cfg(extra), idpId: 'contoso-oidc', now: NOW });

describe('identityFromClaims', () => {
  it('maps an Entra ID token', () => {
    const id = map({
      sub: 'pairwise',
      oid: 'oid-1',
      tid: 'tid-1',
      preferred_username: 'Alice@Contoso.com',
      email: 'alice@contoso.com',
      name: 'Alice',
      groups: ['g1', 7, 'g2'],
      amr: ['pwd', 'mfa'],
      acr: '1',
      auth_time: 1_799_999_000.7,
    });
    expect(id).toEqual({
      subject: 'tid-1/oid-1',
      upn: 'Alice@Contoso.com',
      email: 'alice@contoso.com',
      name: 'Alice',
      groups: ['g1', 'g2'],
      amr: ['pwd', 'mfa'],
      acr: '1',
      authTime: 1_799_999_000,
      idp: { kind: 'oidc', id: 'contoso-oidc' },
    });
  });

  it('uses sub without oid+tid, auth time now without auth_time, and no optional claims it lacks', () => {
    expect(map({ sub: 's1', preferred_username: 'a@b.c' })).toEqual({
      subject: 's1',
      upn: 'a@b.c',
      groups: null,
      amr: [],
      authTime: NOW / 1000,
      idp: { kind: 'oidc', id: 'contoso-oidc' },
    });
  });

  it('takes the user name from the configured claim, then upn, then email', () => {
    expect(map({ sub: 's', upn: 'u@x.y', email: 'e@x.y', unique_name: 'un@x.y' }, { claims: { upn: 'unique_name' } }).upn).toBe('un@x.y');
    expect(map({ sub: 's', upn: 'u@x.y', email: 'e@x.y' }).upn).toBe('u@x.y');
    expect(map({ sub: 's', email: 'e@x.y' }).upn).toBe('e@x.y');
    expect(() => map({ sub: 's', preferred_username: '  ' })).toThrow(FedbridgeError);
    expect(() => map({ sub: 's', preferred_username: `${'x'.repeat(300)}@x.y` })).toThrow(/no usable/);
  });

  it('reads groups from the configured claim', () => {
    expect(map({ sub: 's', upn: 'u@x.y', roles: ['r'] }, { claims: { groups: 'roles' } }).groups).toEqual(['r']);
  });
});

describe('groupsOf', () => {
  it('null on Entra overage (_claim_names.groups or hasgroups), and when absent', () => {
    expect(groupsOf({ _claim_names: { groups: 'src1' }, _claim_sources: {} }, 'groups')).toBeNull();
    expect(groupsOf({ hasgroups: true }, 'groups')).toBeNull();
    expect(groupsOf({}, 'groups')).toBeNull();
  });
  it('a single AD FS value as a list; an empty list stays empty', () => {
    expect(groupsOf({ groups: 'Domain Users' }, 'groups')).toEqual(['Domain Users']);
    expect(groupsOf({ groups: [] }, 'groups')).toEqual([]);
  });
});

describe('amrOf', () => {
  it('keeps strings, maps the AD FS MFA URI to mfa, dedupes', () => {
    expect(amrOf({ amr: ['pwd', 'http://schemas.microsoft.com/claims/multipleauthn', 'mfa', 3] })).toEqual(['pwd', 'mfa']);
    expect(amrOf({ amr: 'pwd' })).toEqual(['pwd']);
    expect(amrOf({})).toEqual([]);
  });
});

describe('acrOf', () => {
  it('acr, or mfaAcr when Entra lists it among the satisfied authentication contexts (acrs)', () => {
    expect(acrOf({ acr: 'urn:x' }, undefined)).toBe('urn:x');
    expect(acrOf({ acr: '1', acrs: ['c1', 'c2'] }, 'c2')).toBe('c2');
    expect(acrOf({ acr: '1', acrs: ['c1'] }, 'c2')).toBe('1');
    expect(acrOf({ acrs: 'c2' }, 'c2')).toBeUndefined();
  });
});

describe('subjectOf', () => {
  it('oid+tid only when both are there', () => {
    expect(subjectOf({ sub: 's', oid: 'o' })).toBe('s');
    expect(subjectOf({ sub: 's', oid: 'o', tid: 't' })).toBe('t/o');
  });
});

describe('issuer rules', () => {
  const T = 'https://login.microsoftonline.com/{tenantid}/v2.0';

  it('discovery address', () => {
    expect(discoveryUrl('https://login.microsoftonline.com/abc/v2.0').href).toBe('https://login.microsoftonline.com/abc/v2.0/.well-known/openid-configuration');
    expect(discoveryUrl(T).href).toBe('https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration');
    expect(discoveryUrl('https://adfs.contoso.com/adfs/').href).toBe('https://adfs.contoso.com/adfs/.well-known/openid-configuration');
  });

  it('matches the discovered issuer', () => {
    expect(matchDiscoveredIssuer('https://a.example/x', 'https://a.example/x')).toBeNull();
    expect(matchDiscoveredIssuer('https://a.example/x', 'https://a.example/y')).toBeUndefined();
    expect(matchDiscoveredIssuer('https://login.microsoftonline.com/organizations/v2.0', T)).toBe(T);
    expect(matchDiscoveredIssuer('https://login.microsoftonline.com/common/v2.0', T)).toBe(T);
    expect(matchDiscoveredIssuer(T, T)).toBe(T);
    expect(matchDiscoveredIssuer('https://evil.example/organizations/v2.0', T)).toBeUndefined();
    expect(matchDiscoveredIssuer('https://login.microsoftonline.com/a/b/v2.0', T)).toBeUndefined();
  });

  it('checkTenant: iss of the own tid, tid in the list (any case)', () => {
    const iss = (tid: string) => T.replace('{tenantid}', tid);
    expect(() => checkTenant({ tid: 'AbC', iss: iss('AbC') }, T, ['abc'])).not.toThrow();
    expect(() => checkTenant({ tid: 'abc', iss: iss('def') }, T, ['abc'])).toThrow(expect.objectContaining({ code: 'upstream_invalid_token' }));
    expect(() => checkTenant({ tid: 'def', iss: iss('def') }, T, ['abc'])).toThrow(expect.objectContaining({ code: 'tenant_not_allowed', status: 403 }));
    expect(() => checkTenant({ tid: '../x', iss: iss('../x') }, T, ['../x'])).toThrow(expect.objectContaining({ code: 'upstream_invalid_token' }));
    expect(() => checkTenant({ iss: 'https://a.example' }, null, [])).not.toThrow();
    expect(() => checkTenant({ iss: 'https://a.example' }, null, ['abc'])).toThrow(expect.objectContaining({ code: 'tenant_not_allowed' }));
  });
});
