/**
 * src/tokens/sign.ts: tokens signed with node:crypto verify with jose against the published
 * public key, for every algorithm keys.algorithm allows; for the deterministic ones (RS256,
 * EdDSA) they are byte for byte what jose's SignJWT makes; and a changed byte anywhere fails.
 */
import { describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, decodeProtectedHeader } from 'jose';
import { signCompact, signingKeyObject } from '../../src/tokens/sign.js';
import type { SigningAlg } from '../../src/tokens/keys.js';

const ALGS: SigningAlg[] = ['ES256', 'RS256', 'PS256', 'EdDSA'];
const payload = { iss: 'https://fedbridge.test', aud: 'urn:mdm', sub: 's', upn: 'ann@contoso.test', name: 'Ann “Ä” 日本', iat: 1_800_000_000, exp: 1_800_000_600, jti: 'j1', idp: { kind: 'oidc', id: 'x' } };

describe('signCompact', () => {
  for (const alg of ALGS) {
    it(`${alg}: jose verifies it with the public key, and any changed byte fails`, async () => {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
      const jwk = await exportJWK(privateKey);
      const token = signCompact(alg, signingKeyObject(jwk), { alg, kid: 'k1', typ: 'JWT' }, payload);
      const { payload: got, protectedHeader } = await jwtVerify(token, publicKey, { algorithms: [alg], currentDate: new Date(1_800_000_100_000) });
      expect(got).toEqual(payload);
      expect(protectedHeader).toEqual({ alg, kid: 'k1', typ: 'JWT' });
      // A flipped character in the payload, and in the signature: refused.
      const [h, p, s] = token.split('.');
      const flip = (x: string, i: number) => x.slice(0, i) + (x[i] === 'A' ? 'B' : 'A') + x.slice(i + 1);
      await expect(jwtVerify(`${h}.${flip(p, 5)}.${s}`, publicKey, { currentDate: new Date(1_800_000_100_000) })).rejects.toThrow();
      await expect(jwtVerify(`${h}.${p}.${flip(s, 3)}`, publicKey, { currentDate: new Date(1_800_000_100_000) })).rejects.toThrow();
      // Not verifiable with another key of the same kind.
      const other = await generateKeyPair(alg, { ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
      await expect(jwtVerify(token, other.publicKey, { currentDate: new Date(1_800_000_100_000) })).rejects.toThrow();
    });
  }

  for (const alg of ['RS256', 'EdDSA'] as const) {
    it(`${alg}: the same bytes as jose's SignJWT`, async () => {
      const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
      const jwk = await exportJWK(privateKey);
      const ours = signCompact(alg, signingKeyObject(jwk), { alg, kid: 'k1', typ: 'JWT' }, payload);
      const joses = await new SignJWT({ ...payload }).setProtectedHeader({ alg, kid: 'k1', typ: 'JWT' }).sign(await importJWK(jwk, alg));
      expect(ours).toBe(joses);
      expect(decodeProtectedHeader(ours).alg).toBe(alg);
    });
  }
});
