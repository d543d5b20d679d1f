/** Red-team findings R1, R2, R4, R5 through fedbridge/verify (R3 is at /introspect: test/e2e/windows-introspect.test.ts). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importJWK, SignJWT } from 'jose';
import { SqliteStore } from '../../src/store/sqlite.js';
import { verifyEnrollmentRequest, type VerifyOptions } from '../../src/verify/index.js';
import { buildEnrollEnvelope, buildGetPoliciesEnvelope } from '../../src/soap/build.js';
import { AUDIENCE, DEVICE_ID, ISSUER, OTHER_DEVICE_ID, T0, TENANT, UPN, fedbridgeJwks, fixtureKeys } from './helpers.js';

let store: SqliteStore;
let clock: number;
let options: VerifyOptions;

beforeEach(async () => {
  store = await SqliteStore.open(':memory:', { now: T0 * 1000 }); // the store's epoch begins before the fixture tokens' iat
  clock = (T0 + 60) * 1000;
  options = { issuer: ISSUER, keys: fedbridgeJwks, audience: AUDIENCE, store, now: () => clock };
});
afterEach(() => store.close());

async function token(claims: Record<string, unknown> = {}, drop: string[] = []): Promise<string> {
  const jwk = fixtureKeys.fedbridge;
  const body: Record<string, unknown> = {
    iss: ISSUER, aud: AUDIENCE, sub: 'c3ViamVjdC1kYW5h', upn: UPN, tid: TENANT, iat: T0, nbf: T0, exp: T0 + 600,
    jti: `rt-${Math.random().toString(36).slice(2)}`, ...claims,
  };
  for (const k of drop) delete body[k];
  return new SignJWT(body).setProtectedHeader({ alg: jwk.alg!, kid: jwk.kid, typ: 'JWT' }).sign(await importJWK(jwk, jwk.alg));
}

const enroll = (t: string, deviceId: string) => buildEnrollEnvelope({ token: t, deviceId, messageId: 'urn:uuid:1' });
const gp = (t: string) => buildGetPoliciesEnvelope({ token: t, messageId: 'urn:uuid:2' });

describe('R1: the consumed marker outlives the clock tolerance', () => {
  it('a token consumed before exp cannot enroll another device within the 30 s tolerance after exp', async () => {
    const t = await token();
    expect(await verifyEnrollmentRequest(enroll(t, DEVICE_ID), options)).toMatchObject({ ok: true, replay: 'consumed' });
    clock = (T0 + 600 + 20) * 1000; // 20 s past exp: still within the default 30 s tolerance
    expect(await verifyEnrollmentRequest(enroll(t, OTHER_DEVICE_ID), options)).toMatchObject({ ok: false, error: 'replayed' });
    expect(await verifyEnrollmentRequest(enroll(t, DEVICE_ID), options)).toMatchObject({ ok: true, replay: 'retry' });
  });
});

describe('R2 / retry rule: GetPolicies stays valid after consumption', () => {
  it('GetPolicies → Enroll (fails on the MDM side) → GetPolicies → Enroll with the same DeviceID gets through', async () => {
    const t = await token();
    expect(await verifyEnrollmentRequest(gp(t), options)).toMatchObject({ ok: true, message: 'GetPolicies', replay: 'fresh' });
    expect(await verifyEnrollmentRequest(enroll(t, DEVICE_ID), options)).toMatchObject({ ok: true, replay: 'consumed' });
    expect(await verifyEnrollmentRequest(gp(t), options)).toMatchObject({ ok: true, message: 'GetPolicies', replay: 'retry' });
    expect(await verifyEnrollmentRequest(gp(t), options)).toMatchObject({ ok: true, replay: 'retry' });
    expect(await verifyEnrollmentRequest(enroll(t, DEVICE_ID), options)).toMatchObject({ ok: true, replay: 'retry' });
    expect(await verifyEnrollmentRequest(enroll(t, OTHER_DEVICE_ID), options)).toMatchObject({ ok: false, error: 'replayed' });
    // A bare token (not a GetPolicies) checked after consumption is still replayed.
    expect(await verifyEnrollmentRequest(t, options)).toMatchObject({ ok: false, error: 'replayed' });
  });
});

describe('R4: time claims that are missing or of the wrong type are malformed', () => {
  it.each([
    ['no iat', {}, ['iat']],
    ['no nbf', {}, ['nbf']],
    ['a string iat', { iat: String(T0) }, []],
    ['a boolean nbf', { nbf: true }, []],
    ['exp before nbf', { nbf: T0 + 30, exp: T0 + 20 }, []],
    ['exp before iat', { iat: T0 + 30, exp: T0 + 20 }, []],
  ] as const)('%s → malformed', async (_name, claims, drop) => {
    clock = (T0 + 25) * 1000;
    const r = await verifyEnrollmentRequest(gp(await token(claims, [...drop])), { ...options, store: undefined });
    expect(r).toMatchObject({ ok: false, error: 'malformed' });
  });

  it('a real future nbf is still not_yet_valid', async () => {
    const r = await verifyEnrollmentRequest(gp(await token({ nbf: T0 + 300, iat: T0 + 300 })), { ...options, store: undefined });
    expect(r).toMatchObject({ ok: false, error: 'not_yet_valid' });
  });
});

describe('R5: case variants of MS-MDE2 element names are refused', () => {
  it.each([
    ['requestsecuritytoken', (x: string) => x.replace('<GetPolicies ', '<requestsecuritytoken xmlns="urn:x"><additionalcontext><contextitem Name="DeviceID"><Value>X</Value></contextitem></additionalcontext></requestsecuritytoken><GetPolicies ')],
    ['AdditionalContext', (x: string) => x.replace('<GetPolicies ', '<additionalContext xmlns="urn:x"/><GetPolicies ')],
    ['ContextItem', (x: string) => x.replace('<GetPolicies ', '<CONTEXTITEM xmlns="urn:x" Name="DeviceID"/><GetPolicies ')],
  ])('a GetPolicies Body with a lower-case %s is malformed (never classed GetPolicies)', async (_n, mutate) => {
    const t = await token();
    const xml = mutate(gp(t));
    const r = await verifyEnrollmentRequest(xml, options);
    expect(r).toMatchObject({ ok: false, error: 'malformed' });
  });
});
