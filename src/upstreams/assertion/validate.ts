/**
 * The one strict SAML assertion validator (SAML 1.1 and 2.0) behind the `wsfed` and `wstrust`
 * kinds (docs/assertions.md, docs/assertions.md). Its core rule: the element whose signature was
 * verified is the very element that is read. Everything returned comes from the canonical
 * XML that xml-crypto reports as signed (`getSignedReferences()`), never from the DOM of the
 * answer, and the answer must hold exactly one assertion, where its envelope says it is.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { Document, Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { internalError } from '../../errors.js';
import { assertionError } from './errors.js';
import {
  DEFAULT_MAX_BYTES,
  NS,
  attr,
  children,
  descendantElements,
  descendants,
  hasComment,
  is,
  isElement,
  parseStrict,
  textOf,
} from './dom.js';

export const ALGORITHMS = {
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  rsaSha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha512: 'http://www.w3.org/2001/04/xmlenc#sha512',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
} as const;

/** SHA-1 is refused (AD FS signs with RSA-SHA256 by default; docs/assertions.md). */
const SIGNATURE_ALGORITHMS = new Set<string>([ALGORITHMS.rsaSha256, ALGORITHMS.rsaSha512]);
const DIGEST_ALGORITHMS = new Set<string>([ALGORITHMS.sha256, ALGORITHMS.sha512]);
const TRANSFORMS = new Set<string>([ALGORITHMS.enveloped, ALGORITHMS.excC14n]);

const BEARER_1 = 'urn:oasis:names:tc:SAML:1.0:cm:bearer';
const BEARER_2 = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,255}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const ID_ATTRIBUTE_NAMES = new Set(['ID', 'Id', 'id', 'AssertionID']);

export interface AssertionCheck {
  /** Trusted signing certificates (PEM or base64 DER), from metadata only. Several = rollover. */
  certificates: readonly string[];
  /** The Audience the assertion must name: realm, appliesTo or SP entity ID. */
  audience: string;
  /**
   * One-time use of assertion IDs: resolves true when `id` was seen before (a replay), false when
   * it was not and is now recorded until `expiresAt` (epoch ms). The caller scopes ids (tenant,
   * issuer) and backs this with the store so it holds across instances.
   */
  seen: (id: string, expiresAt: number) => Promise<boolean>;
  /** Epoch ms; default Date.now. */
  now?: () => number;
  /** Default 180 (docs/assertions.md). */
  clockSkewSeconds?: number;
  /** Default 512 KiB. */
  maxBytes?: number;
  /** When given, a SAML 2.0 SubjectConfirmationData Recipient must equal it. */
  recipient?: string;
  /** When given, the assertion's Issuer must equal it (the metadata's entityID). */
  issuer?: string;
}

export interface ValidatedAssertion {
  samlVersion: '1.1' | '2.0';
  assertionId: string;
  issuer: string;
  nameId: string;
  nameIdFormat: string | null;
  /** Claim URI (SAML 1.1: AttributeNamespace + '/' + AttributeName) → all values, in order. */
  attributes: Record<string, string[]>;
  /** SAML 1.1 AuthenticationMethod values, SAML 2.0 AuthnContextClassRef values. */
  authnMethods: string[];
  /** Epoch ms. */
  issueInstant: number;
  notBefore: number | null;
  notOnOrAfter: number;
  authnInstant: number | null;
  /** SAML 2.0 SubjectConfirmationData InResponseTo, for the caller to match with its request. */
  inResponseTo: string | null;
}

/**
 * Validates an IdP answer holding exactly one signed assertion: a bare Assertion, a WS-Trust
 * 2005/02 RequestSecurityTokenResponse or 1.3 RequestSecurityTokenResponseCollection (the
 * WS-Fed `wresult`), or a SOAP envelope whose Body holds one of those (the STS answer).
 * Throws FedbridgeError with a code of errors.ts; resolves only for a fully valid assertion.
 */
export async function validateAssertion(xml: string, check: AssertionCheck): Promise<ValidatedAssertion> {
  if (typeof check.audience !== 'string' || check.audience === '' || typeof check.seen !== 'function') {
    throw internalError('assertion check without an audience or a replay callback');
  }
  const keys = trustedKeys(check.certificates);
  const maxBytes = check.maxBytes ?? DEFAULT_MAX_BYTES;
  if (typeof xml !== 'string' || xml.length === 0) throw assertionError('assertion_malformed', 'empty answer');
  const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  const doc = parseStrict(text, maxBytes, 'assertion');

  const assertion = locateAssertion(doc);
  const version: '1.1' | '2.0' = assertion.namespaceURI === NS.saml1 ? '1.1' : '2.0';
  const idName = version === '1.1' ? 'AssertionID' : 'ID';
  const id = attr(assertion, idName);
  if (!id || !ID_PATTERN.test(id)) throw assertionError('assertion_malformed', `missing or odd ${idName}`);
  if (countIdHolders(doc, id) !== 1) throw assertionError('assertion_ambiguous', 'assertion id is not unique');
  // Canonicalization drops comments, so a comment could split a value without breaking the
  // signature (the NameID truncation attack): no IdP puts comments in an assertion, refuse them.
  if (hasComment(assertion)) throw assertionError('assertion_malformed', 'comment inside the assertion');

  const signature = signatureOf(assertion, id);
  const signed = verify(text, signature, idName, hintFirst(keys, check.certificates, signature));
  const read = parseSignedReference(signed, maxBytes, assertion, idName, id);

  const fields = version === '1.1' ? readSaml1(read) : readSaml2(read);
  const now = (check.now ?? Date.now)();
  const skew = (check.clockSkewSeconds ?? 180) * 1000;

  if (check.issuer !== undefined && fields.issuer !== check.issuer) throw assertionError('assertion_wrong_issuer', 'Issuer is not the expected IdP');
  if (fields.audienceRestrictions.length === 0) throw assertionError('assertion_wrong_audience', 'no audience restriction');
  for (const audiences of fields.audienceRestrictions) {
    if (!audiences.includes(check.audience)) throw assertionError('assertion_wrong_audience', 'audience does not match');
  }
  if (fields.notBefore !== null && fields.notBefore >= fields.notOnOrAfter) {
    throw assertionError('assertion_malformed', 'NotBefore is not before NotOnOrAfter');
  }
  if (now >= fields.notOnOrAfter + skew) throw assertionError('assertion_expired', 'past NotOnOrAfter');
  for (const c of fields.confirmations) {
    if (c.notOnOrAfter !== null && now >= c.notOnOrAfter + skew) {
      throw assertionError('assertion_expired', 'past SubjectConfirmationData NotOnOrAfter');
    }
    if (c.notBefore !== null && now + skew < c.notBefore) {
      throw assertionError('assertion_not_yet_valid', 'before SubjectConfirmationData NotBefore');
    }
    if (check.recipient !== undefined && c.recipient !== null && c.recipient !== check.recipient) {
      throw assertionError('assertion_wrong_recipient', 'Recipient names another address');
    }
  }
  if (fields.notBefore !== null && now + skew < fields.notBefore) throw assertionError('assertion_not_yet_valid', 'before NotBefore');
  if (fields.issueInstant > now + skew) throw assertionError('assertion_not_yet_valid', 'IssueInstant in the future');

  if (await check.seen(id, fields.notOnOrAfter + skew)) throw assertionError('assertion_replayed', 'assertion id seen before');

  return {
    samlVersion: version,
    assertionId: id,
    issuer: fields.issuer,
    nameId: fields.nameId,
    nameIdFormat: fields.nameIdFormat,
    attributes: fields.attributes,
    authnMethods: fields.authnMethods,
    issueInstant: fields.issueInstant,
    notBefore: fields.notBefore,
    notOnOrAfter: fields.notOnOrAfter,
    authnInstant: fields.authnInstant,
    inResponseTo: fields.inResponseTo,
  };
}

// Parsing a certificate costs more than the RSA check itself; metadata certificates repeat.
const KEY_CACHE_MAX = 256;
const keyCache = new Map<string, KeyObject>();

/** Public keys of the caller's certificates; a certificate carried in the answer is never one of them. */
function trustedKeys(certificates: readonly string[]): KeyObject[] {
  if (!Array.isArray(certificates) || certificates.length === 0) {
    throw assertionError('metadata_invalid', 'no trusted signing certificate');
  }
  return certificates.map((c) => {
    const cached = typeof c === 'string' ? keyCache.get(c) : undefined;
    if (cached) return cached;
    let key: KeyObject;
    try {
      const der = /-----BEGIN CERTIFICATE-----/.test(c) ? c : Buffer.from(c.replace(/\s+/g, ''), 'base64');
      key = new X509Certificate(der).publicKey;
    } catch {
      throw assertionError('metadata_invalid', 'a trusted certificate cannot be read');
    }
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    keyCache.set(c, key);
    return key;
  });
}

/**
 * The envelope shapes, and the rule that the document holds exactly one assertion (signed or
 * not, encrypted or not, in any namespace) and that it is the one the envelope names.
 */
export function locateAssertion(doc: Document): Element {
  let count = 0;
  for (const n of descendants(doc)) {
    if (isElement(n) && (n.localName === 'Assertion' || n.localName === 'EncryptedAssertion')) count++;
  }
  if (count === 0) throw assertionError('assertion_missing', 'no assertion in the answer');
  if (count > 1) throw assertionError('assertion_ambiguous', 'more than one assertion in the answer');

  let node = doc.documentElement;
  if (!node) throw assertionError('assertion_malformed', 'no root element');
  if (is(node, NS.soap12, 'Envelope') || is(node, NS.soap11, 'Envelope')) {
    const bodies = children(node, node.namespaceURI ?? undefined, 'Body');
    if (bodies.length !== 1) throw assertionError('assertion_malformed', 'SOAP envelope without one Body');
    node = only(children(bodies[0]!), 'SOAP Body does not hold one element');
  }
  if (is(node, NS.trust13, 'RequestSecurityTokenResponseCollection')) {
    node = only(children(node), 'collection does not hold one response');
    if (!is(node, NS.trust13, 'RequestSecurityTokenResponse')) {
      throw assertionError('assertion_malformed', 'collection does not hold a WS-Trust 1.3 response');
    }
  }
  let candidate: Element;
  if (is(node, NS.trust13, 'RequestSecurityTokenResponse') || is(node, NS.trust2005, 'RequestSecurityTokenResponse')) {
    const rsts = children(node, node.namespaceURI!, 'RequestedSecurityToken');
    if (rsts.length !== 1) throw assertionError('assertion_ambiguous', 'response without one RequestedSecurityToken');
    const tokens = children(rsts[0]!);
    if (tokens.length !== 1) throw assertionError('assertion_ambiguous', 'RequestedSecurityToken does not hold one token');
    candidate = tokens[0]!;
  } else if (node.localName === 'Assertion') {
    candidate = node;
  } else {
    throw assertionError('assertion_malformed', 'unknown answer shape');
  }
  if (!is(candidate, NS.saml1, 'Assertion') && !is(candidate, NS.saml2, 'Assertion')) {
    throw assertionError('assertion_ambiguous', 'the requested token is not a SAML 1.1 or 2.0 assertion');
  }
  return candidate;
}

function only(list: Element[], detail: string): Element {
  if (list.length !== 1) throw assertionError('assertion_malformed', detail);
  return list[0]!;
}

function countIdHolders(doc: Document, id: string): number {
  let n = 0;
  for (const node of descendants(doc)) {
    if (!isElement(node)) continue;
    const attrs = node.attributes;
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs.item(i);
      if (a && ID_ATTRIBUTE_NAMES.has(a.localName ?? a.name) && a.value === id) n++;
    }
  }
  return n;
}

/**
 * The assertion's own enveloped signature, checked for shape before any cryptography: one
 * Reference whose URI names this assertion, enveloped-signature and exclusive c14n only,
 * SHA-256 or SHA-512.
 */
function signatureOf(assertion: Element, id: string): Element {
  const direct = children(assertion, NS.ds, 'Signature');
  let nested = 0;
  for (const n of descendants(assertion)) if (isElement(n) && is(n, NS.ds, 'Signature')) nested++;
  if (direct.length === 0) {
    throw assertionError(nested === 0 ? 'assertion_unsigned' : 'assertion_ambiguous', 'assertion carries no signature of its own');
  }
  if (direct.length > 1 || nested !== 1) throw assertionError('assertion_ambiguous', 'more than one signature in the assertion');
  const sig = direct[0]!;
  const signedInfo = children(sig, NS.ds, 'SignedInfo');
  if (signedInfo.length !== 1) throw assertionError('assertion_malformed', 'signature without one SignedInfo');
  const si = signedInfo[0]!;
  const c14n = children(si, NS.ds, 'CanonicalizationMethod');
  const method = children(si, NS.ds, 'SignatureMethod');
  if (c14n.length !== 1 || method.length !== 1) throw assertionError('assertion_malformed', 'SignedInfo without its methods');
  if (attr(c14n[0]!, 'Algorithm') !== ALGORITHMS.excC14n) {
    throw assertionError('assertion_unsupported_algorithm', 'SignedInfo canonicalization is not exclusive c14n');
  }
  if (!SIGNATURE_ALGORITHMS.has(attr(method[0]!, 'Algorithm') ?? '')) {
    throw assertionError('assertion_unsupported_algorithm', 'signature algorithm is not RSA-SHA256 or RSA-SHA512');
  }
  const refs = children(si, NS.ds, 'Reference');
  if (refs.length !== 1) throw assertionError('assertion_invalid_signature', 'signature does not hold exactly one Reference');
  const ref = refs[0]!;
  if (attr(ref, 'URI') !== `#${id}`) throw assertionError('assertion_invalid_signature', 'signature does not reference the assertion');
  const transformsEl = children(ref, NS.ds, 'Transforms');
  if (transformsEl.length !== 1) throw assertionError('assertion_unsupported_algorithm', 'reference without Transforms');
  const transforms = children(transformsEl[0]!, NS.ds, 'Transform').map((t) => attr(t, 'Algorithm') ?? '');
  if (
    transforms.length === 0 ||
    transforms.length > 2 ||
    transforms[0] !== ALGORITHMS.enveloped ||
    !transforms.every((t) => TRANSFORMS.has(t)) ||
    new Set(transforms).size !== transforms.length
  ) {
    throw assertionError('assertion_unsupported_algorithm', 'transforms other than enveloped-signature + exclusive c14n');
  }
  const digest = children(ref, NS.ds, 'DigestMethod');
  if (digest.length !== 1 || !DIGEST_ALGORITHMS.has(attr(digest[0]!, 'Algorithm') ?? '')) {
    throw assertionError('assertion_unsupported_algorithm', 'digest is not SHA-256 or SHA-512');
  }
  return sig;
}

/**
 * Rollover: the key whose certificate the signature's KeyInfo names is tried first. KeyInfo is
 * only an ordering hint here; every key tried is still one of the caller's.
 */
function hintFirst(keys: KeyObject[], certificates: readonly string[], signature: Element): KeyObject[] {
  if (keys.length < 2) return keys;
  const carried = descendantElements(signature, NS.ds, 'X509Certificate')[0];
  if (!carried) return keys;
  const b64 = (carried.textContent ?? '').replace(/\s+/g, '');
  const bare = (c: string) => c.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  const i = certificates.findIndex((c) => bare(c) === b64);
  return i > 0 ? [keys[i]!, ...keys.slice(0, i), ...keys.slice(i + 1)] : keys;
}

/** Verifies against each trusted key in turn; returns the canonical XML of the one signed reference. */
function verify(text: string, signature: Element, idName: string, keys: KeyObject[]): string {
  for (const key of keys) {
    const sig = new SignedXml({
      publicCert: key,
      // Never a certificate carried in KeyInfo: only the caller's (metadata) keys are trust.
      getCertFromKeyInfo: () => null,
    });
    sig.idAttributes = [idName];
    // Only the algorithms signatureOf() allows, so xml-crypto itself cannot fall back to others.
    sig.SignatureAlgorithms = {
      [ALGORITHMS.rsaSha256]: sig.SignatureAlgorithms[ALGORITHMS.rsaSha256],
      [ALGORITHMS.rsaSha512]: sig.SignatureAlgorithms[ALGORITHMS.rsaSha512],
    } as typeof sig.SignatureAlgorithms;
    sig.HashAlgorithms = {
      [ALGORITHMS.sha256]: sig.HashAlgorithms[ALGORITHMS.sha256],
      [ALGORITHMS.sha512]: sig.HashAlgorithms[ALGORITHMS.sha512],
    } as typeof sig.HashAlgorithms;
    sig.CanonicalizationAlgorithms = {
      [ALGORITHMS.excC14n]: sig.CanonicalizationAlgorithms[ALGORITHMS.excC14n],
      [ALGORITHMS.enveloped]: sig.CanonicalizationAlgorithms[ALGORITHMS.enveloped],
    } as typeof sig.CanonicalizationAlgorithms;
    let ok = false;
    try {
      // xml-crypto types its argument with its own xmldom 0.8 (or the DOM lib's Node when another
      // package pulls that lib into a program); the element is a W3C DOM node either way.
      sig.loadSignature(signature as unknown as Parameters<typeof sig.loadSignature>[0]);
      ok = sig.checkSignature(text) === true;
    } catch {
      ok = false;
    }
    if (!ok) continue;
    const refs = sig.getSignedReferences();
    if (refs.length !== 1 || typeof refs[0] !== 'string') break;
    return refs[0];
  }
  throw assertionError('assertion_invalid_signature', 'signature does not verify against a trusted certificate');
}

/** The signed bytes, parsed: this element is the only thing read from now on. */
function parseSignedReference(signed: string, maxBytes: number, located: Element, idName: string, id: string): Element {
  let doc: Document;
  try {
    doc = parseStrict(signed, maxBytes, 'assertion');
  } catch {
    throw assertionError('assertion_invalid_signature', 'signed content cannot be read');
  }
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== located.namespaceURI || root.localName !== 'Assertion' || attr(root, idName) !== id) {
    throw assertionError('assertion_invalid_signature', 'the signed element is not the assertion');
  }
  if (children(root, NS.ds, 'Signature').length !== 0) {
    throw assertionError('assertion_invalid_signature', 'signed content still holds a signature');
  }
  return root;
}

interface Confirmation {
  notBefore: number | null;
  notOnOrAfter: number | null;
  recipient: string | null;
  inResponseTo: string | null;
}

/** What is read from the signed assertion: the result's fields, plus what the checks need. */
interface Fields extends Omit<ValidatedAssertion, 'samlVersion' | 'assertionId'> {
  audienceRestrictions: string[][];
  confirmations: Confirmation[];
}

function time(value: string | null, what: string): number | null {
  if (value === null) return null;
  const t = DATE_TIME.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(t)) throw assertionError('assertion_malformed', `${what} is not a UTC date-time`);
  return t;
}

function required<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined || value === '') throw assertionError('assertion_malformed', `missing ${what}`);
  return value;
}

function one(parent: Element, ns: string, name: string): Element {
  const list = children(parent, ns, name);
  if (list.length !== 1) throw assertionError('assertion_malformed', `expected one ${name}`);
  return list[0]!;
}

function addValue(attributes: Record<string, string[]>, name: string, values: string[]): void {
  // A plain object keyed by IdP-chosen names: never let "__proto__" reach the prototype.
  if (!Object.prototype.hasOwnProperty.call(attributes, name)) {
    Object.defineProperty(attributes, name, { value: [], enumerable: true, writable: true, configurable: true });
  }
  attributes[name]!.push(...values);
}

function conditions(c: Element, ns: string, restrictionName: string): Pick<Fields, 'notBefore' | 'notOnOrAfter' | 'audienceRestrictions'> {
  const notBefore = time(attr(c, 'NotBefore'), 'NotBefore');
  const notOnOrAfter = required(time(attr(c, 'NotOnOrAfter'), 'NotOnOrAfter'), 'NotOnOrAfter');
  const audienceRestrictions = children(c, ns, restrictionName).map((r) => children(r, ns, 'Audience').map(textOf));
  return { notBefore, notOnOrAfter, audienceRestrictions };
}

/** SAML 1.1 (AD FS's default for WS-Fed): subjects live in each statement. */
function readSaml1(a: Element): Fields {
  if (attr(a, 'MajorVersion') !== '1' || attr(a, 'MinorVersion') !== '1') {
    throw assertionError('assertion_malformed', 'not a SAML 1.1 assertion');
  }
  const issuer = required(attr(a, 'Issuer'), 'Issuer');
  const issueInstant = required(time(attr(a, 'IssueInstant'), 'IssueInstant'), 'IssueInstant');
  const cond = conditions(one(a, NS.saml1, 'Conditions'), NS.saml1, 'AudienceRestrictionCondition');

  const statements = [
    ...children(a, NS.saml1, 'AuthenticationStatement'),
    ...children(a, NS.saml1, 'AttributeStatement'),
  ];
  const names = new Set<string>();
  let nameIdFormat: string | null = null;
  for (const s of statements) {
    const subject = one(s, NS.saml1, 'Subject');
    const nid = one(subject, NS.saml1, 'NameIdentifier');
    names.add(textOf(nid));
    nameIdFormat ??= attr(nid, 'Format');
    for (const sc of children(subject, NS.saml1, 'SubjectConfirmation')) {
      const methods = children(sc, NS.saml1, 'ConfirmationMethod').map(textOf);
      if (!methods.includes(BEARER_1)) throw assertionError('assertion_malformed', 'subject confirmation is not bearer');
    }
  }
  if (names.size !== 1) throw assertionError('assertion_malformed', 'statements do not name one subject');
  const nameId = required([...names][0], 'NameIdentifier');

  const attributes: Record<string, string[]> = {};
  for (const s of children(a, NS.saml1, 'AttributeStatement')) {
    for (const at of children(s, NS.saml1, 'Attribute')) {
      const local = required(attr(at, 'AttributeName'), 'AttributeName');
      const ns = attr(at, 'AttributeNamespace');
      const name = ns ? `${ns.replace(/\/+$/, '')}/${local}` : local;
      addValue(attributes, name, children(at, NS.saml1, 'AttributeValue').map(textOf));
    }
  }
  const authn = children(a, NS.saml1, 'AuthenticationStatement');
  const authnMethods = authn.map((s) => attr(s, 'AuthenticationMethod')).filter((m): m is string => !!m);
  const authnInstant = authn.length > 0 ? time(attr(authn[0]!, 'AuthenticationInstant'), 'AuthenticationInstant') : null;
  return {
    issuer,
    nameId,
    nameIdFormat,
    attributes,
    authnMethods,
    issueInstant,
    ...cond,
    authnInstant,
    inResponseTo: null,
    confirmations: [],
  };
}

function readSaml2(a: Element): Fields {
  if (attr(a, 'Version') !== '2.0') throw assertionError('assertion_malformed', 'not a SAML 2.0 assertion');
  const issuer = required(textOf(one(a, NS.saml2, 'Issuer')), 'Issuer');
  const issueInstant = required(time(attr(a, 'IssueInstant'), 'IssueInstant'), 'IssueInstant');
  const subject = one(a, NS.saml2, 'Subject');
  const nid = one(subject, NS.saml2, 'NameID');
  const nameId = required(textOf(nid), 'NameID');
  const confirmations: Confirmation[] = [];
  const scs = children(subject, NS.saml2, 'SubjectConfirmation');
  for (const sc of scs) {
    if (attr(sc, 'Method') !== BEARER_2) continue;
    const data = children(sc, NS.saml2, 'SubjectConfirmationData');
    if (data.length > 1) throw assertionError('assertion_malformed', 'more than one SubjectConfirmationData');
    const d = data[0];
    confirmations.push({
      notBefore: d ? time(attr(d, 'NotBefore'), 'NotBefore') : null,
      notOnOrAfter: d ? time(attr(d, 'NotOnOrAfter'), 'NotOnOrAfter') : null,
      recipient: d ? attr(d, 'Recipient') : null,
      inResponseTo: d ? attr(d, 'InResponseTo') : null,
    });
  }
  if (scs.length > 0 && confirmations.length === 0) throw assertionError('assertion_malformed', 'subject confirmation is not bearer');
  const cond = conditions(one(a, NS.saml2, 'Conditions'), NS.saml2, 'AudienceRestriction');

  if (children(a, NS.saml2, 'AttributeStatement').some((s) => children(s, NS.saml2, 'EncryptedAttribute').length > 0)) {
    throw assertionError('assertion_malformed', 'encrypted attributes are not supported');
  }
  const attributes: Record<string, string[]> = {};
  for (const s of children(a, NS.saml2, 'AttributeStatement')) {
    for (const at of children(s, NS.saml2, 'Attribute')) {
      addValue(attributes, required(attr(at, 'Name'), 'Attribute Name'), children(at, NS.saml2, 'AttributeValue').map(textOf));
    }
  }
  const authn = children(a, NS.saml2, 'AuthnStatement');
  const authnMethods: string[] = [];
  for (const s of authn) {
    for (const ctx of children(s, NS.saml2, 'AuthnContext')) {
      for (const ref of children(ctx, NS.saml2, 'AuthnContextClassRef')) authnMethods.push(textOf(ref));
    }
  }
  const authnInstant = authn.length > 0 ? time(attr(authn[0]!, 'AuthnInstant'), 'AuthnInstant') : null;
  const inResponseTo = confirmations.find((c) => c.inResponseTo !== null)?.inResponseTo ?? null;
  return {
    issuer,
    nameId,
    nameIdFormat: attr(nid, 'Format'),
    attributes,
    authnMethods,
    issueInstant,
    ...cond,
    authnInstant,
    inResponseTo,
    confirmations,
  };
}
