/**
 * The `saml` kind: SAML 2.0 Web SSO, SP side, on @node-saml/node-saml (docs/assertions.md, issue #8).
 * begin → an AuthnRequest over the Redirect binding (RelayState = our transaction, its ID kept
 * on the transaction; signed when `signAuthnRequests`).
 * complete → in this order (docs/assertions.md for the shared rules):
 *  1. base64, size, then the strict parse (DTD, limits, well-formedness): node-saml accepts a DOCTYPE;
 *  2. a failed Status → 403 upstream_denied naming the SAML status code (never the IdP's message);
 *  3. exactly one assertion anywhere, a direct child of the Response (wrapping), no comment in it,
 *     some signature, and only RSA-SHA256/512 with SHA-256/512 digests (SHA-1 refused);
 *  4. node-saml: the signatures against the IdP metadata's certificates (a signed Assertion, or an
 *     unsigned one inside a signed Response), Conditions times and audience. An unknown key may
 *     be a rollover: the metadata is fetched again (at most once a minute) and the check retried;
 *  5. on the assertion node-saml verified (never the outer document): Issuer = the metadata's
 *     entity, Destination (when present) and every bearer Recipient = our ACS (node-saml checks
 *     neither), Conditions/@NotOnOrAfter and the bearer SubjectConfirmationData times, an
 *     AuthnStatement (the Web SSO profile);
 *  6. the assertion ID once (store), before
 *  7. InResponseTo on the Response and every bearer SubjectConfirmationData = this transaction's
 *     request (kept in the store, so any instance can answer; node-saml's cache is per process).
 *     Unsolicited answers are refused.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SAML, ValidateInResponseTo, type SamlConfig } from '@node-saml/node-saml';
import type { Element } from '@xmldom/xmldom';
import { FedbridgeError, badRequest } from '../../errors.js';
import { ALGORITHMS, assertionError, identityFromAssertion, readSamlIdpMetadata, type SamlIdpMetadata, type ValidatedAssertion } from '../assertion/index.js';
import { NS, attr, children, descendantElements, hasComment, is, parseStrict, textOf } from '../assertion/dom.js';
import { decodeBase64Strict } from '../../soap/envelope.js';
import { fetchMetadataText, MetadataSource } from '../metadata.js';
import { assertionReplayCache } from '../replay.js';
import { defineKind } from '../types.js';
import { samlRules, samlSchema } from './config.js';
import { loadSpKeyPair, type SpKeyPair } from './sp-key.js';

const SAML2 = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAML2P = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const MAX_SAML_ANSWER = 512 * 1024;
/**
 * The ACS body: the answer in base64 (4/3), form-encoded by the browser ('+', '/' and '=' take
 * three bytes each, about 6% of a base64 text on average; 25% allowed), plus RelayState.
 */
const MAX_ACS_BODY = Math.ceil(((MAX_SAML_ANSWER * 4) / 3) * 1.25) + 16 * 1024;
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const SIGNATURE_ALGORITHMS = new Set<string>([ALGORITHMS.rsaSha256, ALGORITHMS.rsaSha512]);
const DIGEST_ALGORITHMS = new Set<string>([ALGORITHMS.sha256, ALGORITHMS.sha512]);

/** node-saml says what failed in English words; each maps to one of our stable codes. */
function refusal(err: unknown): FedbridgeError {
  if (err instanceof FedbridgeError) return err;
  const m = String((err as Error)?.message ?? '');
  if (/multiple assertions/i.test(m)) return assertionError('assertion_ambiguous', 'more than one assertion');
  if (/signature/i.test(m)) return assertionError('assertion_invalid_signature', 'signature does not verify against the IdP metadata');
  if (/expired/i.test(m)) return assertionError('assertion_expired', 'assertion expired');
  if (/not yet valid/i.test(m)) return assertionError('assertion_not_yet_valid', 'assertion not yet valid');
  if (/audience/i.test(m)) return assertionError('assertion_wrong_audience', 'audience is not this SP');
  if (/missing SAML assertion/i.test(m)) return assertionError('assertion_missing', 'the answer holds no assertion');
  return assertionError('assertion_malformed', 'the SAML answer could not be read');
}

/** SAML 2.0 status codes (saml-core §3.2.2.2), by local name: the only words of a failed status shown. */
const STATUS_CODES = new Set([
  'Requester', 'Responder', 'VersionMismatch', 'AuthnFailed', 'InvalidAttrNameOrValue', 'InvalidNameIDPolicy',
  'NoAuthnContext', 'NoAvailableIDP', 'NoPassive', 'NoSupportedIDP', 'PartialLogout', 'ProxyCountExceeded',
  'RequestDenied', 'RequestUnsupported', 'RequestVersionDeprecated', 'RequestVersionTooHigh',
  'RequestVersionTooLow', 'ResourceNotRecognized', 'TooManyResponses', 'UnknownAttrProfile',
  'UnknownPrincipal', 'UnsupportedBinding',
]);
const STATUS_PREFIX = 'urn:oasis:names:tc:SAML:2.0:status:';

/**
 * A Response whose top StatusCode is not Success: the IdP refused the sign-in (wrong password,
 * cancelled, no such user). A 403 page naming the status; the IdP's own message is never shown.
 */
function refuseFailedStatus(response: Element): void {
  const status = children(response, SAML2P, 'Status');
  const top = status.length === 1 ? children(status[0]!, SAML2P, 'StatusCode') : [];
  if (top.length !== 1) throw assertionError('assertion_malformed', 'no single Status/StatusCode');
  const value = attr(top[0]!, 'Value') ?? '';
  if (value === `${STATUS_PREFIX}Success`) return;
  const name = (v: string | null) => (v?.startsWith(STATUS_PREFIX) && STATUS_CODES.has(v.slice(STATUS_PREFIX.length)) ? v.slice(STATUS_PREFIX.length) : null);
  const sub = children(top[0]!, SAML2P, 'StatusCode')[0];
  const reason = name(sub ? attr(sub, 'Value') : null) ?? name(value) ?? 'unknown status';
  throw new FedbridgeError(403, 'upstream_denied', `the IdP answered status ${reason}`, { reason }, 'error.upstream_denied');
}

/** docs/assertions.md decisions: SHA-1 and unknown algorithms are refused before any cryptography. */
function checkAlgorithms(signature: Element): void {
  const signedInfo = children(signature, NS.ds, 'SignedInfo')[0];
  const method = signedInfo ? children(signedInfo, NS.ds, 'SignatureMethod')[0] : undefined;
  if (!method || !SIGNATURE_ALGORITHMS.has(attr(method, 'Algorithm') ?? '')) {
    throw assertionError('assertion_unsupported_algorithm', 'signature algorithm not allowed');
  }
  for (const ref of children(signedInfo!, NS.ds, 'Reference')) {
    const digest = children(ref, NS.ds, 'DigestMethod')[0];
    if (!digest || !DIGEST_ALGORITHMS.has(attr(digest, 'Algorithm') ?? '')) throw assertionError('assertion_unsupported_algorithm', 'digest algorithm not allowed');
  }
}

export const samlKind = defineKind({
  kind: 'saml',
  schema: samlSchema,
  rules: samlRules,
  returnRoutes: [{ path: '/saml/:tenant/acs', methods: ['POST'], stateParam: 'RelayState', maxBodyBytes: MAX_ACS_BODY }],
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
        // docs/assertions.md: a signed Assertion in a signed or unsigned Response; an unsigned one only
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
        // The strict parse first (docs/assertions.md rule 1): node-saml accepts a DOCTYPE, and its
        // parser is lenient. Size, DTD, well-formedness and node limits are refused here.
        const response = parseStrict(xml, MAX_SAML_ANSWER, 'assertion').documentElement!;
        if (!is(response, SAML2P, 'Response')) throw assertionError('assertion_malformed', 'not a SAML 2.0 Response');
        refuseFailedStatus(response);
        const assertions = [...children(response, SAML2, 'Assertion'), ...children(response, SAML2, 'EncryptedAssertion')];
        if (descendantElements(response, null, 'Assertion').length + descendantElements(response, null, 'EncryptedAssertion').length > 1) {
          throw assertionError('assertion_ambiguous', 'more than one assertion');
        }
        if (assertions.length === 0) throw assertionError('assertion_missing', 'the answer holds no assertion');
        const hasEncrypted = children(response, SAML2, 'EncryptedAssertion').length > 0;
        if (cfg.wantEncryptedAssertions && !hasEncrypted) throw assertionError('assertion_malformed', 'the SP asked for an encrypted assertion');
        // A comment can split a value without breaking the signature (docs/assertions.md rule 4).
        if (assertions.some(hasComment)) throw assertionError('assertion_malformed', 'comment inside the assertion');
        const signatures = [...children(response, NS.ds, 'Signature'), ...assertions.flatMap((a) => children(a, NS.ds, 'Signature'))];
        if (signatures.length === 0 && !hasEncrypted) throw assertionError('assertion_unsigned', 'neither the Response nor the Assertion is signed');
        for (const sig of signatures) checkAlgorithms(sig);

        // Without metadataUrl there is nothing to fetch again: the file is what it is.
        const validate = async (md: SamlIdpMetadata) => ({ md, result: await (await client(md)).validatePostResponseAsync({ SAMLResponse: bytes.toString('base64') }) });
        const { md, result } = cfg.metadataUrl
          ? await metadata.withRollover(validate, refusal)
          : await validate(await metadata.get()).catch((err: unknown) => Promise.reject(refusal(err)));
        const profile = result.profile;
        const assertionXml = profile?.getAssertionXml?.();
        if (!profile || !assertionXml) throw assertionError('assertion_missing', 'the answer holds no assertion');

        // Read only what node-saml verified: the assertion it returns (never the outer document).
        const assertion = parseStrict(assertionXml, MAX_SAML_ANSWER, 'assertion').documentElement!;
        if (!is(assertion, SAML2, 'Assertion')) throw assertionError('assertion_malformed', 'the verified element is not an assertion');
        // A decrypted assertion was not seen by the comment check above.
        if (hasComment(assertion)) throw assertionError('assertion_malformed', 'comment inside the assertion');
        const now = deps.now();
        const skew = cfg.clockSkewSeconds * 1000;
        const issuer = children(assertion, SAML2, 'Issuer')[0];
        if (!issuer || textOf(issuer) !== md.entityId) throw assertionError('assertion_wrong_issuer', 'the assertion is not from the metadata\'s entity');
        // Destination may be left out; when present it names this ACS (node-saml does not check it).
        const destination = attr(response, 'Destination');
        if (destination !== null && destination !== acs) throw assertionError('assertion_wrong_recipient', 'Destination is another ACS');

        const conditions = children(assertion, SAML2, 'Conditions');
        const notOnOrAfter = Date.parse(conditions[0] ? (attr(conditions[0], 'NotOnOrAfter') ?? '') : '');
        if (conditions.length !== 1 || !Number.isFinite(notOnOrAfter)) throw assertionError('assertion_malformed', 'no Conditions NotOnOrAfter');
        if (now >= notOnOrAfter + skew) throw assertionError('assertion_expired', 'assertion expired');
        const subject = children(assertion, SAML2, 'Subject');
        const bearer = subject.flatMap((s) => children(s, SAML2, 'SubjectConfirmation')).filter((c) => attr(c, 'Method') === BEARER);
        const confirmations = bearer.flatMap((c) => children(c, SAML2, 'SubjectConfirmationData'));
        if (subject.length !== 1 || confirmations.length === 0) throw assertionError('assertion_malformed', 'no bearer SubjectConfirmationData');
        for (const c of confirmations) {
          if (attr(c, 'Recipient') !== acs) throw assertionError('assertion_wrong_recipient', 'Recipient is another ACS');
          const until = Date.parse(attr(c, 'NotOnOrAfter') ?? '');
          if (!Number.isFinite(until)) throw assertionError('assertion_malformed', 'SubjectConfirmationData without NotOnOrAfter');
          if (now >= until + skew) throw assertionError('assertion_expired', 'subject confirmation expired');
          const from = Date.parse(attr(c, 'NotBefore') ?? '');
          if (Number.isFinite(from) && now + skew < from) throw assertionError('assertion_not_yet_valid', 'subject confirmation not yet valid');
        }
        // The Web SSO profile: an assertion that reports no authentication is no sign-in.
        const authnStatements = children(assertion, SAML2, 'AuthnStatement');
        if (authnStatements.length === 0) throw assertionError('assertion_malformed', 'no AuthnStatement');

        // Once (store-backed, so it holds across instances). Checked before the request binding, so
        // that a used assertion replayed with a fresh transaction is reported as a replay.
        const assertionId = attr(assertion, 'ID') ?? '';
        if (!assertionId || (await seen(assertionId, Math.max(notOnOrAfter, ...confirmations.map((c) => Date.parse(attr(c, 'NotOnOrAfter')!))) + skew))) {
          throw assertionError('assertion_replayed', 'this assertion was used before');
        }
        // InResponseTo names this transaction's request, kept in the store (any instance can answer).
        // Unsolicited answers are refused: the IdP must answer our own request.
        const expected = tx.upstream.samlRequestId;
        const outerIrt = attr(response, 'InResponseTo');
        if (!expected || outerIrt === null || outerIrt !== expected) throw badRequest('unknown_state', 'the answer is not for this sign-in');
        for (const c of confirmations) {
          if (attr(c, 'InResponseTo') !== expected) throw badRequest('unknown_state', 'the answer is not for this sign-in');
        }

        const attributes: Record<string, string[]> = {};
        for (const statement of children(assertion, SAML2, 'AttributeStatement')) {
          if (children(statement, SAML2, 'EncryptedAttribute').length > 0) throw assertionError('assertion_malformed', 'encrypted attributes');
          for (const a of children(statement, SAML2, 'Attribute')) {
            const name = attr(a, 'Name');
            if (!name) continue;
            const values = children(a, SAML2, 'AttributeValue').map(textOf);
            attributes[name] = [...(Object.prototype.hasOwnProperty.call(attributes, name) ? attributes[name]! : []), ...values];
          }
        }
        const authnMethods = authnStatements
          .flatMap((s) => children(s, SAML2, 'AuthnContext'))
          .flatMap((c) => children(c, SAML2, 'AuthnContextClassRef'))
          .map(textOf);
        const authnInstant = Date.parse(attr(authnStatements[0]!, 'AuthnInstant') ?? '');
        const issueInstant = Date.parse(attr(assertion, 'IssueInstant') ?? '') || now;
        const nameIdEl = children(subject[0]!, SAML2, 'NameID')[0];
        const nameId = nameIdEl ? textOf(nameIdEl) : '';
        if (!nameId) throw assertionError('assertion_malformed', 'no NameID');
        const validated: ValidatedAssertion = {
          samlVersion: '2.0',
          assertionId,
          issuer: md.entityId,
          nameId,
          nameIdFormat: nameIdEl ? attr(nameIdEl, 'Format') : null,
          attributes,
          authnMethods,
          issueInstant,
          notBefore: null,
          notOnOrAfter,
          authnInstant: Number.isFinite(authnInstant) ? authnInstant : null,
          inResponseTo: expected,
        };
        const identity = identityFromAssertion(validated, cfg.claims);
        return { ...identity, subject: `${md.entityId}|${identity.subject}`, idp: { kind: 'saml', id } };
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
