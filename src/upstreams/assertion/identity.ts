/**
 * From a validated assertion to the normalized identity (docs/assertions.md `claims`): attribute
 * names for upn, email, name and groups, with AD FS's claim URIs as defaults and the NameID
 * as the last resort for the UPN; `amr` filled from the authentication method.
 */
import { FedbridgeError } from '../../errors.js';
import type { Identity } from '../../tokens/claims.js';
import type { ValidatedAssertion } from './validate.js';

export const CLAIM_URIS = {
  upn: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
  email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  name: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  group: 'http://schemas.xmlsoap.org/claims/Group',
  role: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
  authnMethodsReferences: 'http://schemas.microsoft.com/claims/authnmethodsreferences',
} as const;

export const MFA_METHOD = 'http://schemas.microsoft.com/ws/2012/12/authmethod/multifactor';

/** Password authentication, as SAML 1.1, SAML 2.0 and AD FS name it. */
export const PASSWORD_METHODS: ReadonlySet<string> = new Set([
  'urn:oasis:names:tc:SAML:1.0:am:password',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:Password',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
  'http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password',
]);

/** Where each claim comes from: one attribute name (claim URI) per field, as in docs/assertions.md. */
export interface ClaimNames {
  upn?: string;
  email?: string;
  name?: string;
  groups?: string;
}

export type AssertionIdentity = Omit<Identity, 'idp'>;

function first(attributes: Record<string, string[]>, name: string): string | undefined {
  const values = Object.prototype.hasOwnProperty.call(attributes, name) ? attributes[name] : undefined;
  return values?.find((v) => v.length > 0);
}

function all(attributes: Record<string, string[]>, name: string): string[] | undefined {
  return Object.prototype.hasOwnProperty.call(attributes, name) ? attributes[name] : undefined;
}

/** `mfa` for the AD FS multifactor method (authentication method or authnmethodsreferences claim), `pwd` for password classes. */
export function amrOf(assertion: Pick<ValidatedAssertion, 'authnMethods' | 'attributes'>): string[] {
  const methods = [...assertion.authnMethods, ...(all(assertion.attributes, CLAIM_URIS.authnMethodsReferences) ?? [])];
  const amr: string[] = [];
  if (methods.some((m) => PASSWORD_METHODS.has(m))) amr.push('pwd');
  if (methods.includes(MFA_METHOD)) amr.push('mfa');
  return amr;
}

/**
 * Maps the attributes. `groups` is null when the answer carries no group attribute at all
 * (the IdP may simply not issue it: policy cannot tell membership), the values otherwise.
 */
export function identityFromAssertion(assertion: ValidatedAssertion, claims: ClaimNames = {}): AssertionIdentity {
  const a = assertion.attributes;
  const upn = first(a, claims.upn ?? CLAIM_URIS.upn) ?? (claims.upn ? undefined : assertion.nameId);
  if (!upn) {
    throw new FedbridgeError(502, 'upstream_missing_claim', 'the assertion carries no UPN attribute');
  }
  let groups: string[] | null;
  if (claims.groups) {
    groups = all(a, claims.groups) ?? null;
  } else {
    const g = all(a, CLAIM_URIS.group);
    const r = all(a, CLAIM_URIS.role);
    groups = g || r ? [...new Set([...(g ?? []), ...(r ?? [])])] : null;
  }
  const email = first(a, claims.email ?? CLAIM_URIS.email);
  const name = first(a, claims.name ?? CLAIM_URIS.name);
  return {
    subject: assertion.nameId,
    upn,
    ...(email ? { email } : {}),
    ...(name ? { name } : {}),
    groups: groups ? groups.filter((g) => g.length > 0) : null,
    amr: amrOf(assertion),
    authTime: Math.floor((assertion.authnInstant ?? assertion.issueInstant) / 1000),
  };
}
