/**
 * Issue #9: the Windows corpus through fedbridge/verify alone (no server), with fixture keys,
 * the SQLite store for the replay rule, Entra's own JWT for the AADInternals Enroll, and every
 * hostile variant (base64url guaranteed to differ from base64 here).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importJWK, SignJWT } from 'jose';
import { SqliteStore } from '../../src/store/sqlite.js';
import { verifyEnrollmentRequest, REFUSALS, type VerifyOptions } from '../../src/verify/index.js';
import { makeCsrBase64 } from '../../src/cli/simulate/csr.js';
import { ENVELOPES, materialize } from '../fixtures/windows/corpus.js';
import { variants } from '../fixtures/windows/variants.js';
import { AUDIENCE, ENTRA_AUDIENCE, ENTRA_TENANT, ISSUER, T0, TENANT, UPN, entraJwks, fedbridgeJwks, fixtureKeys, readFault } from './helpers.js';

let store: SqliteStore;
let options: VerifyOptions;
const csr = makeCsrBase64('corpus-device');

beforeEach(async () => {
  store = await SqliteStore.open(':memory:', { now: T0 * 1000 }); // the store's epoch begins before the fixture tokens' iat
  options = { issuer: ISSUER, keys: fedbridgeJwks, audience: AUDIENCE, store, now: () => (T0 + 60) * 1000 };
});
afterEach(() => store.close());

async function sign(jwk: typeof fixtureKeys.fedbridge, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: jwk.alg!, kid: jwk.kid, typ: 'JWT' }).sign(await importJWK(jwk, jwk.alg));
}

/** A Fedbridge token whose base64 has a '+', '/' or '=' (so base64url differs). */
async function fedbridgeToken(): Promise<string> {
  for (let i = 0; ; i++) {
    const t = await sign(fixtureKeys.fedbridge, { iss: ISSUER, aud: AUDIENCE, sub: 's', upn: UPN, tid: TENANT, iat: T0, nbf: T0, exp: T0 + 600, jti: `corpus-${i}-${Math.random()}` });
    const b64 = Buffer.from(t).toString('base64');
    if (b64 !== Buffer.from(t).toString('base64url')) return t;
  }
}

describe('corpus through fedbridge/verify', () => {
  for (const c of ENVELOPES) {
    it(`${c.file} → ${c.expect}, and its fault when refused`, async () => {
      const t = await fedbridgeToken();
      const r = await verifyEnrollmentRequest(materialize(c.file, t, csr), { ...options, consume: false });
      if (c.expect === 'active') {
        expect(r).toMatchObject({ ok: true, message: c.message, deviceId: c.deviceId, messageId: c.messageId, replay: 'fresh' });
        return;
      }
      expect(r).toMatchObject({ ok: false, error: c.expect, description: REFUSALS[c.expect].description });
      if (!r.ok) expect(readFault(r.fault({ activityId: 'a-1' }))).toMatchObject({ subcode: REFUSALS[c.expect].subcode, relatesTo: c.messageId });
    });
  }

  it('the AADInternals Enroll verifies with Entra configured and an Entra-signed JWT', async () => {
    const jwt = await sign(fixtureKeys.entra, {
      aud: ENTRA_AUDIENCE, iss: `https://sts.windows.net/${ENTRA_TENANT}/`, tid: ENTRA_TENANT, iat: T0, nbf: T0, exp: T0 + 3600,
      upn: UPN, scp: 'mdm_delegation', uti: 'corpus-uti-1', ver: '1.0',
    });
    const xml = materialize('enroll-aadinternals-entra-jwt.xml', jwt, csr);
    const entra = { jwks: entraJwks, tenantIds: [ENTRA_TENANT], audience: ENTRA_AUDIENCE };
    expect(await verifyEnrollmentRequest(xml, { ...options, entra })).toMatchObject({ ok: true, kind: 'entra', deviceId: 'E6A90D2F47B1438C9D05F3A7C2B8E614', replay: 'consumed' });
    expect(await verifyEnrollmentRequest(xml, { ...options, entra })).toMatchObject({ ok: true, replay: 'retry' });
  });

  it('every hostile variant gets its code; base64url is among them for every message', async () => {
    const t = await fedbridgeToken();
    for (const c of ENVELOPES.filter((e) => e.expect === 'active')) {
      const vs = variants(materialize(c.file, t, csr), t);
      expect(vs.map((v) => v.name)).toContain('base64url instead of base64');
      for (const v of vs) {
        const r = await verifyEnrollmentRequest(v.xml, { ...options, store: undefined });
        expect(r.ok ? 'active' : r.error, `${c.file}: ${v.name}`).toBe(v.expect);
        if (!r.ok) {
          expect(r.description).toBe(REFUSALS[r.error].description);
          expect(r.fault()).not.toContain(t.slice(0, 16));
        }
      }
    }
  });
});
