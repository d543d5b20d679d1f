/**
 * Finds the token in whatever an enrollment server hands us: a raw JWT, the base64
 * content of a BinarySecurityToken (exactly one layer, white space allowed), or a
 * whole MS-MDE2 SOAP envelope (GetPolicies or Enroll).
 */
import { decodeBase64Strict, looksLikeJwt, parseEnrollmentEnvelope } from '../soap/envelope.js';
import { VT_DEVICE_ENROLLMENT_USER_TOKEN, VT_JWT } from '../soap/constants.js';
import { XmlError } from '../soap/xml.js';
import type { TokenErrorCode } from '../tokens/verify.js';

export type MessageKind = 'GetPolicies' | 'Enroll' | null;

export interface Extracted {
  ok: true;
  token: string;
  /** Which kind of token the BST declared: a Fedbridge user token or an Entra JWT. */
  tokenType: 'fedbridge' | 'entra';
  message: MessageKind;
  /** The envelope's WS-Addressing MessageID (for RelatesTo in a fault), null otherwise. */
  messageId: string | null;
  deviceId: string | null;
  additionalContext: Record<string, string>;
}

export type ExtractFailure = { ok: false; error: TokenErrorCode; description: string; message: MessageKind; messageId: string | null };
export type ExtractResult = Extracted | ExtractFailure;

/** Envelopes larger than this are refused before parsing (a real one is a few KiB). */
export const MAX_INPUT_BYTES = 128 * 1024;

function fail(error: TokenErrorCode, description: string, message: MessageKind = null, messageId: string | null = null): ExtractResult {
  return { ok: false, error, description, message, messageId };
}

function decodeBst(value: string): string | null {
  const bytes = decodeBase64Strict(value);
  if (!bytes) return null;
  const s = bytes.toString('utf8');
  return looksLikeJwt(s) ? s : null;
}

export function extractToken(input: string, opts: { acceptEntra?: boolean } = {}): ExtractResult {
  if (typeof input !== 'string' || input.length === 0) return fail('malformed', 'empty token');
  // A UTF-16 unit is at most 3 UTF-8 bytes: only a long input needs counting.
  if (input.length * 3 > MAX_INPUT_BYTES && Buffer.byteLength(input) > MAX_INPUT_BYTES) return fail('malformed', `input larger than ${MAX_INPUT_BYTES} bytes`);
  const trimmed = input.trim();

  if (trimmed.startsWith('<')) return fromEnvelope(trimmed, opts);
  if (looksLikeJwt(trimmed)) {
    return { ok: true, token: trimmed, tokenType: 'fedbridge', message: null, messageId: null, deviceId: null, additionalContext: {} };
  }
  const decoded = decodeBst(trimmed);
  if (decoded) return { ok: true, token: decoded, tokenType: 'fedbridge', message: null, messageId: null, deviceId: null, additionalContext: {} };
  return fail('malformed', 'neither a token, the base64 content of a BinarySecurityToken, nor a SOAP envelope');
}

function fromEnvelope(xml: string, opts: { acceptEntra?: boolean }): ExtractResult {
  let env;
  try {
    env = parseEnrollmentEnvelope(xml, { maxBytes: MAX_INPUT_BYTES });
  } catch (err) {
    // err.message is ours (a limit, a rule); the parser's own text, which may quote the input, is not used.
    const why = err instanceof XmlError ? `the envelope was refused (${err.message})` : 'unreadable XML';
    return fail('malformed', why);
  }
  // An envelope is a GetPolicies or an Enroll (docs/enrollment-server.md); the replay rule depends on which.
  if (env.message === null) return fail('malformed', 'the envelope is neither a GetPolicies nor an Enroll request', null, env.messageId);
  const base = { message: env.message, messageId: env.messageId, deviceId: env.deviceId, additionalContext: env.additionalContext };
  const ours = env.tokens.filter((t) => t.valueType === VT_DEVICE_ENROLLMENT_USER_TOKEN);
  const entra = env.tokens.filter((t) => t.valueType === VT_JWT);
  if (ours.length > 1 || (ours.length === 0 && entra.length > 1)) {
    return fail('malformed', 'more than one BinarySecurityToken of the same type', env.message, env.messageId);
  }
  const bst = ours[0] ?? (opts.acceptEntra ? entra[0] : undefined);
  if (!bst) {
    if (env.tokens.length > 0) {
      return fail('wrong_token_type', 'the BinarySecurityToken has a ValueType that is not accepted', env.message, env.messageId);
    }
    return fail('malformed', 'the envelope carries no BinarySecurityToken in its Security header', env.message, env.messageId);
  }
  const token = decodeBst(bst.value);
  if (!token) return fail('malformed', 'the BinarySecurityToken is not base64 of a signed token (exactly one layer)', env.message, env.messageId);
  return { ok: true, token, tokenType: bst.valueType === VT_JWT ? 'entra' : 'fedbridge', ...base };
}
