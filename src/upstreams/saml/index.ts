/**
 * The `saml` kind: SAML 2.0 Web SSO, SP side, on @node-saml/node-saml (docs/upstreams.md).
 * begin → an AuthnRequest over the Redirect binding (RelayState = our transaction, its ID kept
 * on the transaction; signed when `signAuthnRequests`); complete → node-saml checks the
 * signatures against the IdP metadata's certificates, times and audience; then the checks it
 * leaves to us (docs/assertions.md): no DOCTYPE, Destination and Recipient name our ACS,
 * InResponseTo names this transaction's request (kept in the store, so any instance can answer),
 * the assertion ID is used once (store), and encryption when the SP asked for it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SAML, ValidateInResponseTo, type SamlConfig } from '@node-saml/node-saml';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { FedbridgeError, badRequest } from '../../errors.js';
import { assertionError, identityFromAssertion, readSamlIdpMetadata, type SamlIdpMetadata, type ValidatedAssertion } from '../assertion/index.js';
import { decodeBase64Strict } from '../../soap/envelope.js';
import { fetchMetadataText, MetadataSource } from '../metadata.js';
import { assertionReplayCache } from '../replay.js';
import { defineKind } from '../types.js';
import { samlRules, samlSchema } from './config.js';
import { loadSpKeyPair, type SpKeyPair } from './sp-key.js';

const SAML2 = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAML2P = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const MAX_SAML_ANSWER = 512 * 1024;

/** node-saml says what failed in English words; each maps to one of our stable codes. */
function refusal(err: unknown): FedbridgeError {
  if (err instanceof FedbridgeError) return err;
  const m = String((err as Error)?.message ?? '');
  if (/multiple assertions/i.test(m)) return assertionError('assertion_ambiguous', 'more than one assertion');
  if (/signature/i.test(m)) return assertionError('assertion_invalid_signature', 'signature does not verify against the IdP metadata');
  if (/expired|NotOnOrAfter/i.test(m)) return assertionError('assertion_expired', 'assertion expired');
  if (/not yet valid|NotBefore/i.test(m)) return assertionError('assertion_not_yet_valid', 'assertion not yet valid');
  if (/audience/i.test(m)) return assertionError('assertion_wrong_audience', 'audience is not this SP');
  if (/status/i.test(m) || /Responder|Requester|AuthnFailed/i.test(m)) return new FedbridgeError(403, 'upstream_denied', 'the IdP refused the sign-in', {}, 'error.upstream_denied');
  return assertionError('assertion_malformed', 'the SAML answer could not be read');
}

function elements(root: Element, ns: string, name: string): Element[] {
  return Array.from(root.getElementsByTagNameNS(ns, name));
}

function parse(xml: string): Element {
  const doc = new DOMParser({ onError: () => undefined }).parseFromString(xml, 'text/xml');
  if (!doc.documentElement) throw assertionError('assertion_malformed', 'not XML');
  return doc.documentElement;
}

export const samlKind = defineKind({
  kind: 'saml',
  schema: samlSchema,
  rules: samlRules,
  returnRoutes: [{ path: '/saml/:tenant/acs', methods: ['POST'], stateParam: 'RelayState', maxBodyBytes: Math.ceil((MAX_SAML_ANSWER * 4) / 3) + 16 * 1024 }],
  metadataRoute: '/saml/:tenant/metadata',
  create(tenant, cfg, deps) {
    const id = cfg.id ?? `${tenant.id}-saml`;
    const acs = `${deps.publicUrl}/saml/${tenant.id}/acs`;
    const entityId = cfg.entityId ?? `${deps.publicUrl}/saml/${tenant.id}`;
    const log = deps.log.child({ idp: id });
    // A metadata file is read once, now: an unreadable file fails start-up with its path.
    const fileMd = cfg.metadataFile ? readSamlIdpMetadata(readFileSync(cfg.metadataFile, 'utf8')) : null;
    const metadata = new MetadataSource<SamlIdpMetadata>(
      async () => fileMd ?? readSamlIdpMetadata(await fetchMetadataText(deps, cfg.metadataUrl!, cfg.timeoutMs)),
      deps.now,
      log,
    );
    const seen = assertionReplayCache(deps.store, `saml\n${tenant.id}`, deps.now);
    const needsSpKey = cfg.signAuthnRequests || cfg.wantEncryptedAssertions;
    let spKey: Promise<SpKeyPair> | null = null;
    const sp = () => (spKey ??= loadSpKeyPair({ keysDir: deps.keysDir, keyFile: cfg.spKeyFile, certFile: cfg.spCertFile, name: entityId, now: deps.now() }));

    async function client(md: SamlIdpMetadata, requestId?: string): Promise<SAML> {
      const pair = needsSpKey ? await sp() : null;
      const options: SamlConfig = {
        issuer: entityId,
        callbackUrl: acs,
        audience: entityId,
        idpCert: md.signingCertificates,
        ...(md.ssoRedirectUrl ? { entryPoint: md.ssoRedirectUrl } : {}),
        // Contract §2: a signed Assertion in a signed or unsigned Response; an unsigned one only
        // inside a signed Response holding exactly one (node-saml enforces exactly this with both false).
        wantAssertionsSigned: false,
        wantAuthnResponseSigned: false,
        // Ours is in the store (works across instances); node-saml's cache is per process.
        validateInResponseTo: ValidateInResponseTo.never,
        acceptedClockSkewMs: cfg.clockSkewSeconds * 1000,
        identifierFormat: null,
        disableRequestedAuthnContext: true,
        forceAuthn: cfg.forceAuthn,
        signatureAlgorithm: 'sha256',
        digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
        ...(requestId ? { generateUniqueId: () => requestId } : {}),
        ...(pair && cfg.signAuthnRequests ? { privateKey: pair.privateKeyPem, publicCert: pair.certificatePem } : {}),
        ...(pair && cfg.wantEncryptedAssertions ? { decryptionPvk: pair.privateKeyPem } : {}),
      };
      return new SAML(options);
    }

    return {
      kind: 'saml',
      id,
      async begin(tx) {
        const md = await metadata.get();
        if (!md.ssoRedirectUrl) throw new FedbridgeError(502, 'upstream_error', 'the IdP metadata has no HTTP-Redirect SingleSignOnService');
        const requestId = `_${randomBytes(20).toString('hex')}`;
        const url = await (await client(md, requestId)).getAuthorizeUrlAsync(tx.state, undefined, {});
        return { kind: 'redirect', url, keep: { samlRequestId: requestId } };
      },

      async complete(tx, { method, params }) {
        if (method !== 'POST') throw badRequest('invalid_request', 'SAML answers are posted');
        const bytes = typeof params.SAMLResponse === 'string' ? decodeBase64Strict(params.SAMLResponse) : null;
        if (!bytes) throw assertionError('assertion_malformed', 'SAMLResponse is missing or not base64');
        if (bytes.length > MAX_SAML_ANSWER) throw assertionError('assertion_too_large', `answer larger than ${MAX_SAML_ANSWER} bytes`);
        const xml = bytes.toString('utf8');
        // node-saml accepts a DOCTYPE (docs/assertions.md): refused here, before anything parses it.
        if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw assertionError('assertion_dtd_refused', 'DOCTYPE or ENTITY in answer');
        const response = parse(xml);
        if (response.namespaceURI !== SAML2P || response.localName !== 'Response') throw assertionError('assertion_malformed', 'not a SAML 2.0 Response');
        const hasEncrypted = elements(response, SAML2, 'EncryptedAssertion').length > 0;
        if (cfg.wantEncryptedAssertions && !hasEncrypted) throw assertionError('assertion_malformed', 'the SP asked for an encrypted assertion');

        const md = await metadata.get();
        let result;
        try {
          result = await (await client(md)).validatePostResponseAsync({ SAMLResponse: params.SAMLResponse });
        } catch (err) {
          throw refusal(err);
        }
        const profile = result.profile;
        const assertionXml = profile?.getAssertionXml?.();
        if (!profile || !assertionXml) throw assertionError('assertion_missing', 'the answer holds no assertion');

        // Read only what node-saml verified: the assertion it returns (never the outer document).
        const assertion = parse(assertionXml);
        const expected = tx.upstream.samlRequestId;
        const destination = response.getAttribute('Destination');
        if (destination && destination !== acs) throw assertionError('assertion_wrong_recipient', 'Destination is another ACS');
        const outerIrt = response.getAttribute('InResponseTo');
        if (outerIrt && outerIrt !== expected) throw badRequest('unknown_state', 'the answer is for another request');
        const confirmations = elements(assertion, SAML2, 'SubjectConfirmationData');
        if (confirmations.length === 0) throw assertionError('assertion_malformed', 'no SubjectConfirmationData');
        for (const c of confirmations) {
          if (c.getAttribute('Recipient') !== acs) throw assertionError('assertion_wrong_recipient', 'Recipient is another ACS');
          // Unsolicited answers are refused: the IdP must answer our own request.
          if (!expected || c.getAttribute('InResponseTo') !== expected) throw badRequest('unknown_state', 'the answer is not for this sign-in');
        }

        const assertionId = assertion.getAttribute('ID') ?? '';
        const conditions = elements(assertion, SAML2, 'Conditions')[0];
        const notOnOrAfter = Date.parse(conditions?.getAttribute('NotOnOrAfter') ?? '') || deps.now() + 5 * 60_000;
        if (!assertionId || (await seen(assertionId, notOnOrAfter + cfg.clockSkewSeconds * 1000))) {
          throw assertionError('assertion_replayed', 'this assertion was used before');
        }

        const attributes: Record<string, string[]> = {};
        for (const a of elements(assertion, SAML2, 'Attribute')) {
          const name = a.getAttribute('Name');
          if (!name) continue;
          const values = elements(a, SAML2, 'AttributeValue').map((v) => (v.textContent ?? '').trim());
          attributes[name] = [...(attributes[name] ?? []), ...values];
        }
        const authnMethods = elements(assertion, SAML2, 'AuthnContextClassRef').map((e) => (e.textContent ?? '').trim());
        const authnInstant = Date.parse(elements(assertion, SAML2, 'AuthnStatement')[0]?.getAttribute('AuthnInstant') ?? '');
        const issueInstant = Date.parse(assertion.getAttribute('IssueInstant') ?? '') || deps.now();
        const validated: ValidatedAssertion = {
          samlVersion: '2.0',
          assertionId,
          issuer: profile.issuer,
          nameId: profile.nameID,
          nameIdFormat: profile.nameIDFormat ?? null,
          attributes,
          authnMethods,
          issueInstant,
          notBefore: null,
          notOnOrAfter,
          authnInstant: Number.isFinite(authnInstant) ? authnInstant : null,
          inResponseTo: expected ?? null,
        };
        const identity = identityFromAssertion(validated, cfg.claims);
        return { ...identity, subject: `${profile.issuer}|${identity.subject}`, idp: { kind: 'saml', id } };
      },

      async metadata() {
        const pair = needsSpKey ? await sp() : null;
        const saml = new SAML({
          issuer: entityId,
          callbackUrl: acs,
          idpCert: 'unused-for-metadata',
          wantAssertionsSigned: true,
          ...(pair && cfg.signAuthnRequests ? { privateKey: pair.privateKeyPem, publicCert: pair.certificatePem } : {}),
          ...(pair && cfg.wantEncryptedAssertions ? { decryptionPvk: pair.privateKeyPem } : {}),
        });
        const body = saml.generateServiceProviderMetadata(
          pair && cfg.wantEncryptedAssertions ? pair.certificatePem : null,
          pair && cfg.signAuthnRequests ? pair.certificatePem : null,
        );
        return { contentType: 'application/samlmetadata+xml', body };
      },
    };
  },
});
