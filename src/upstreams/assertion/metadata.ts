/**
 * Readers for the two metadata documents the assertion kinds trust (docs/assertions.md):
 *  - WS-Federation metadata (AD FS `/FederationMetadata/2007-06/FederationMetadata.xml`):
 *    signing certificates of the `fed:SecurityTokenServiceType` RoleDescriptor only, and
 *    its `fed:PassiveRequestorEndpoint`;
 *  - SAML 2.0 IdP metadata: signing certificates of the IDPSSODescriptor and its
 *    HTTP-Redirect SingleSignOnService.
 * A certificate counts when its KeyDescriptor has `use="signing"` or no `use` (rollover: all of
 * them). The metadata's own ds:Signature and its KeyInfo are never a source of certificates.
 */
import { X509Certificate } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import { assertionError } from './errors.js';
import { DEFAULT_MAX_BYTES, NS, attr, children, is, parseStrict, resolveQName, textOf } from './dom.js';

const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

export interface WsFedMetadata {
  entityId: string;
  /** Base64 DER, in document order. */
  signingCertificates: string[];
  /** `fed:PassiveRequestorEndpoint` address, when the metadata names one. */
  passiveEndpoint: string | null;
}

export interface SamlIdpMetadata {
  entityId: string;
  signingCertificates: string[];
  /** HTTP-Redirect SingleSignOnService Location. */
  ssoRedirectUrl: string | null;
}

function entityDescriptor(xml: string, maxBytes: number): Element {
  const doc = parseStrict(xml, maxBytes, 'metadata');
  const root = doc.documentElement;
  if (!root || !is(root, NS.md, 'EntityDescriptor')) throw assertionError('metadata_invalid', 'root is not an md:EntityDescriptor');
  return root;
}

function entityIdOf(root: Element): string {
  const id = attr(root, 'entityID');
  if (!id) throw assertionError('metadata_invalid', 'EntityDescriptor without entityID');
  return id;
}

/** Certificates of one role's signing KeyDescriptors (use="signing" or no use). */
function signingCertificates(role: Element): string[] {
  const out: string[] = [];
  for (const kd of children(role, NS.md, 'KeyDescriptor')) {
    const use = attr(kd, 'use');
    if (use !== null && use !== 'signing') continue;
    for (const ki of children(kd, NS.ds, 'KeyInfo')) {
      for (const data of children(ki, NS.ds, 'X509Data')) {
        for (const c of children(data, NS.ds, 'X509Certificate')) {
          const b64 = textOf(c).replace(/\s+/g, '');
          try {
            new X509Certificate(Buffer.from(b64, 'base64'));
          } catch {
            throw assertionError('metadata_invalid', 'a signing certificate cannot be read');
          }
          if (!out.includes(b64)) out.push(b64);
        }
      }
    }
  }
  return out;
}

function isStsRole(el: Element): boolean {
  if (!is(el, NS.md, 'RoleDescriptor')) return false;
  const type = el.getAttributeNS(NS.xsi, 'type');
  if (!type) return false;
  const q = resolveQName(el, type.trim());
  return q.ns === NS.fed && q.local === 'SecurityTokenServiceType';
}

export function readWsFedMetadata(xml: string, opts: { maxBytes?: number } = {}): WsFedMetadata {
  const root = entityDescriptor(xml, opts.maxBytes ?? DEFAULT_MAX_BYTES);
  const entityId = entityIdOf(root);
  const roles = children(root).filter(isStsRole);
  if (roles.length === 0) throw assertionError('metadata_invalid', 'no fed:SecurityTokenServiceType role');
  const signing: string[] = [];
  let passiveEndpoint: string | null = null;
  for (const role of roles) {
    for (const c of signingCertificates(role)) if (!signing.includes(c)) signing.push(c);
    for (const ep of children(role, NS.fed, 'PassiveRequestorEndpoint')) {
      for (const epr of children(ep, NS.wsa, 'EndpointReference')) {
        for (const address of children(epr, NS.wsa, 'Address')) passiveEndpoint ??= textOf(address) || null;
      }
    }
  }
  if (signing.length === 0) throw assertionError('metadata_invalid', 'the STS role lists no signing certificate');
  return { entityId, signingCertificates: signing, passiveEndpoint };
}

export function readSamlIdpMetadata(xml: string, opts: { maxBytes?: number } = {}): SamlIdpMetadata {
  const root = entityDescriptor(xml, opts.maxBytes ?? DEFAULT_MAX_BYTES);
  const entityId = entityIdOf(root);
  const idps = children(root, NS.md, 'IDPSSODescriptor').filter((d) =>
    (attr(d, 'protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL),
  );
  if (idps.length !== 1) throw assertionError('metadata_invalid', 'not exactly one SAML 2.0 IDPSSODescriptor');
  const idp = idps[0]!;
  const signing = signingCertificates(idp);
  if (signing.length === 0) throw assertionError('metadata_invalid', 'the IdP role lists no signing certificate');
  const redirect = children(idp, NS.md, 'SingleSignOnService').find((s) => attr(s, 'Binding') === REDIRECT_BINDING);
  return { entityId, signingCertificates: signing, ssoRedirectUrl: (redirect && attr(redirect, 'Location')) || null };
}
