/**
 * Compact JWS signing with node:crypto's synchronous sign, for the tokens Fedbridge mints
 * (README, The token). jose 6 signs through WebCrypto: a thread-pool job and a promise per
 * signature, about 1.7 times the CPU of the same signature made here (bench/mint.js prints
 * both). The serialization is the three lines of RFC 7515 §7.1; the signature is node:crypto's.
 * Tokens from here verify with jose (test/tokens/sign.test.ts), and for the deterministic
 * algorithms (RS256, EdDSA) they are the bytes jose's SignJWT makes.
 */
import { constants, createPrivateKey, sign, type JsonWebKeyInput, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import type { JWK } from 'jose';
import type { SigningAlg } from './keys.js';

/** node:crypto's digest and options for each algorithm `keys.algorithm` allows (docs/configuration.md). */
const PARAMS: Record<SigningAlg, { digest: string | null; options: Omit<SignKeyObjectInput, 'key'> }> = {
  ES256: { digest: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  RS256: { digest: 'sha256', options: { padding: constants.RSA_PKCS1_PADDING } },
  PS256: { digest: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } },
  EdDSA: { digest: null, options: {} },
};

/** The private KeyObject of a key file's JWK. */
export function signingKeyObject(jwk: JWK): KeyObject {
  return createPrivateKey({ key: jwk, format: 'jwk' } as JsonWebKeyInput);
}

const b64u = (json: unknown): string => Buffer.from(JSON.stringify(json)).toString('base64url');

/** header.payload.signature, the header and payload serialized as JSON in their key order. */
export function signCompact(alg: SigningAlg, key: KeyObject, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const { digest, options } = PARAMS[alg];
  // As jose refuses to sign or verify RS256/PS256 with an RSA key under 2048 bits: a token from
  // such a key file (never made by Fedbridge) would be refused at /introspect, so none is made.
  if (options.padding !== undefined && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new TypeError(`${alg} requires an RSA key of 2048 bits or more`);
  const input = `${b64u(header)}.${b64u(payload)}`;
  const signature = sign(digest, Buffer.from(input), { ...options, key });
  return `${input}.${signature.toString('base64url')}`;
}
