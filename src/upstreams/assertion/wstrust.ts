/**
 * WS-Trust 1.3 `usernamemixed` messages (PROTOCOL.md §6, §8): the request security token a
 * client sends to an AD FS-style STS, and the first reading of its answer. The token inside
 * the answer is then checked by validateAssertion() exactly like a WS-Fed `wresult`.
 */
import { randomUUID } from 'node:crypto';
import { FedbridgeError } from '../../errors.js';
import { parseXml } from '../../soap/xml.js';
import { DEFAULT_MAX_BYTES, NS, children, is, resolveQName, textOf } from './dom.js';

export const WSTRUST13 = {
  issueAction: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue',
  issueFinalAction: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal',
  issue: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue',
  bearer: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer',
  passwordText: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText',
  saml11TokenType: 'urn:oasis:names:tc:SAML:1.0:assertion',
  saml20TokenType: 'urn:oasis:names:tc:SAML:2.0:assertion',
} as const;

// XML 1.0 characters only; anything else could not travel in the envelope.
const XML_CHARS = /^[\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;

function esc(value: string): string {
  if (!XML_CHARS.test(value)) throw new FedbridgeError(400, 'invalid_request', 'characters not allowed in XML');
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export interface RstInput {
  endpoint: string;
  appliesTo: string;
  username: string;
  password: string;
  /** Epoch ms. */
  now: number;
  /** Timestamp lifetime; default 5 minutes. */
  ttlMs?: number;
}

/** A SOAP 1.2 RST Issue with a UsernameToken, a wsu:Timestamp, AppliesTo and KeyType Bearer. */
export function buildUsernameMixedRst(input: RstInput): string {
  const created = new Date(input.now).toISOString();
  const expires = new Date(input.now + (input.ttlMs ?? 300_000)).toISOString();
  return (
    `<s:Envelope xmlns:s="${NS.soap12}" xmlns:a="${NS.wsa}" xmlns:u="${NS.wsu}">` +
    '<s:Header>' +
    `<a:Action s:mustUnderstand="1">${WSTRUST13.issueAction}</a:Action>` +
    `<a:MessageID>urn:uuid:${randomUUID()}</a:MessageID>` +
    '<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>' +
    `<a:To s:mustUnderstand="1">${esc(input.endpoint)}</a:To>` +
    `<o:Security s:mustUnderstand="1" xmlns:o="${NS.wsse}">` +
    `<u:Timestamp u:Id="_0"><u:Created>${created}</u:Created><u:Expires>${expires}</u:Expires></u:Timestamp>` +
    `<o:UsernameToken u:Id="uuid-${randomUUID()}">` +
    `<o:Username>${esc(input.username)}</o:Username>` +
    `<o:Password Type="${WSTRUST13.passwordText}">${esc(input.password)}</o:Password>` +
    '</o:UsernameToken>' +
    '</o:Security>' +
    '</s:Header>' +
    '<s:Body>' +
    `<trust:RequestSecurityToken xmlns:trust="${NS.trust13}">` +
    `<wsp:AppliesTo xmlns:wsp="${NS.wsp2004}"><a:EndpointReference><a:Address>${esc(input.appliesTo)}</a:Address></a:EndpointReference></wsp:AppliesTo>` +
    `<trust:KeyType>${WSTRUST13.bearer}</trust:KeyType>` +
    `<trust:RequestType>${WSTRUST13.issue}</trust:RequestType>` +
    '</trust:RequestSecurityToken>' +
    '</s:Body>' +
    '</s:Envelope>'
  );
}

export type StsAnswer =
  /** A wrong user name or password (AD FS: HTTP 500, subcode a:FailedAuthentication). */
  | { kind: 'failed_authentication' }
  /** Not a fault: pass the same text to validateAssertion(). */
  | { kind: 'token' };

/**
 * Reads an STS answer whatever its HTTP status (AD FS faults come with 500). Garbage and any
 * other fault are the IdP's problem: 502 `upstream_error` (the detail never echoes the body).
 */
export function classifyStsAnswer(body: string, opts: { maxBytes?: number } = {}): StsAnswer {
  let root;
  try {
    root = parseXml(body, { maxBytes: opts.maxBytes ?? DEFAULT_MAX_BYTES }).documentElement;
  } catch {
    throw new FedbridgeError(502, 'upstream_error', 'the STS answer is not XML');
  }
  if (!root || !(is(root, NS.soap12, 'Envelope') || is(root, NS.soap11, 'Envelope'))) {
    throw new FedbridgeError(502, 'upstream_error', 'the STS answer is not a SOAP envelope');
  }
  const soap = root.namespaceURI!;
  const bodies = children(root, soap, 'Body');
  if (bodies.length !== 1) throw new FedbridgeError(502, 'upstream_error', 'the STS answer has no SOAP Body');
  const fault = children(bodies[0]!, soap, 'Fault')[0];
  if (!fault) return { kind: 'token' };

  const codes: { el: typeof fault; value: string }[] = [];
  if (soap === NS.soap12) {
    let code = children(fault, soap, 'Code')[0];
    while (code) {
      const value = children(code, soap, 'Value')[0];
      if (value) codes.push({ el: value, value: textOf(value) });
      code = children(code, soap, 'Subcode')[0];
    }
  } else {
    const fc = children(fault).find((c) => c.localName === 'faultcode' && !c.namespaceURI);
    if (fc) codes.push({ el: fc, value: textOf(fc) });
  }
  for (const c of codes) {
    const q = resolveQName(c.el, c.value);
    if (q.ns === NS.wsse && q.local === 'FailedAuthentication') return { kind: 'failed_authentication' };
  }
  throw new FedbridgeError(502, 'upstream_error', 'the STS answered with a fault');
}
