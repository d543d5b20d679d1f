/**
 * Issue #7 in fedbridge/verify (the same code path as /introspect): the Body decides the
 * message (finding 1), XML limits before parsing (finding 7), and a small bounded clock
 * leeway plus a lifetime bound (finding 8).
 */
import { importJWK, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite.js';
import { verifyEnrollmentRequest, type VerifyOptions } from '../../src/verify/index.js';
import { buildEnrollEnvelope, buildGetPoliciesEnvelope } from '../../src/soap/build.js';
import { ACTION_GET_POLICIES, VT_DEVICE_ENROLLMENT_USER_TOKEN, VT_JWT } from '../../src/soap/constants.js';
import { parseEnrollmentEnvelope } from '../../src/soap/envelope.js';
import { AUDIENCE, ENTRA_AUDIENCE, ENTRA_TENANT, ISSUER, T0, TENANT, UPN, entraJwks, fedbridgeJwks, fixture, fixtureKeys } from './helpers.js';

let store: SqliteStore;
let options: VerifyOptions;
const at = (seconds: number) => () => (T0 + seconds) * 1000;

beforeEach(async () => {
  store = await SqliteStore.open(':memory:', { now: T0 * 1000 }); // the store's epoch begins before the fixture tokens' iat
  options = { issuer: ISSUER, keys: fedbridgeJwks, audience: AUDIENCE, tenants: [TENANT], store, now: at(60) };
});
afterEach(() => store.close());

let jtis = 0;
/** A Fedbridge token signed with the fixture key; times relative to T0. */
async function token(times: { iat?: number; nbf?: number; exp?: number } = {}): Promise<string> {
  const iat = T0 + (times.iat ?? 0);
  const claims = {
    iss: ISSUER, aud: AUDIENCE, sub: 'c3ViamVjdA', upn: UPN, tid: TENANT, idp: { kind: 'local', id: 'x' }, amr: ['pwd'], auth_time: iat,
    iat, nbf: T0 + (times.nbf ?? times.iat ?? 0), exp: T0 + (times.exp ?? (times.iat ?? 0) + 600), jti: `hardening-${++jtis}`,
  };
  const jwk = fixtureKeys.fedbridge;
  return new SignJWT(claims).setProtectedHeader({ alg: jwk.alg!, kid: jwk.kid, typ: 'JWT' }).sign(await importJWK(jwk, jwk.alg));
}

const ACTION = /<a:Action s:mustUnderstand="1">[^<]*<\/a:Action>/;
const asGetPolicies = (xml: string) => xml.replace(ACTION, `<a:Action s:mustUnderstand="1">${ACTION_GET_POLICIES}</a:Action>`);

describe('finding 1 in fedbridge/verify: the Body decides, the Action never does', () => {
  it('an Enroll body under a GetPolicies Action consumes; a second device is replayed', async () => {
    const t = await token();
    const send = (deviceId: string) => verifyEnrollmentRequest(asGetPolicies(buildEnrollEnvelope({ token: t, deviceId })), options);
    expect(await send('DEV-A')).toMatchObject({ ok: true, message: 'Enroll', deviceId: 'DEV-A', replay: 'consumed' });
    expect(await send('DEV-B')).toMatchObject({ ok: false, error: 'replayed', faultCode: 's:Authentication' });
  });

  it('the same for an Entra token (automatic enrollment)', async () => {
    const entraBst = parseEnrollmentEnvelope(fixture('entra-good-v1.xml')).tokens[0]!.value;
    const send = (deviceId: string) => {
      const env = asGetPolicies(buildEnrollEnvelope({ token: 'placeholder', deviceId }));
      const out = env.replace(/ValueType="[^"]*DeviceEnrollmentUserToken"([^>]*)>[^<]*</, `ValueType="${VT_JWT}"$1>${entraBst}<`);
      expect(out).not.toBe(env);
      return verifyEnrollmentRequest(out, { ...options, entra: { jwks: entraJwks, tenantIds: [ENTRA_TENANT], audience: ENTRA_AUDIENCE } });
    };
    expect(await send('DEV-A')).toMatchObject({ ok: true, kind: 'entra', message: 'Enroll', replay: 'consumed' });
    expect(await send('DEV-B')).toMatchObject({ ok: false, error: 'replayed' });
  });

  it('a decoy AdditionalContext first in the Body is malformed (s:MessageFormat)', async () => {
    const env = buildEnrollEnvelope({ token: await token(), deviceId: 'DEV-REAL' }).replace(
      '<s:Body>',
      '<s:Body><AdditionalContext><ContextItem Name="DeviceID"><Value>DEV-DECOY</Value></ContextItem></AdditionalContext>',
    );
    expect(await verifyEnrollmentRequest(env, options)).toMatchObject({ ok: false, error: 'malformed', faultCode: 's:MessageFormat' });
  });

  it('a header BST with a comment inside is malformed', async () => {
    const t = await token();
    const value = Buffer.from(t).toString('base64');
    const env = buildGetPoliciesEnvelope({ token: t });
    expect(env).toContain(`${VT_DEVICE_ENROLLMENT_USER_TOKEN}`);
    expect(await verifyEnrollmentRequest(env.replace(value, `${value.slice(0, 20)}<!---->${value.slice(20)}`), options)).toMatchObject({ ok: false, error: 'malformed' });
  });
});

describe('finding 7 in fedbridge/verify: XML limits before parsing', () => {
  it('deep nesting and a namespace per level are malformed', async () => {
    const gp = buildGetPoliciesEnvelope({ token: await token() });
    const deep = gp.replace('</GetPolicies>', `${'<n>'.repeat(5_000)}${'</n>'.repeat(5_000)}</GetPolicies>`);
    expect(await verifyEnrollmentRequest(deep, options)).toMatchObject({ ok: false, error: 'malformed', faultCode: 's:MessageFormat' });
    const ns = Array.from({ length: 25 }, (_, i) => `<n xmlns:a${i}="u" xmlns:b${i}="u" xmlns:c${i}="u">`).join('') + '</n>'.repeat(25);
    expect(await verifyEnrollmentRequest(gp.replace('</GetPolicies>', `${ns}</GetPolicies>`), options)).toMatchObject({ ok: false, error: 'malformed' });
    expect(await verifyEnrollmentRequest(gp, options)).toMatchObject({ ok: true });
  });
});

describe('finding 8 in fedbridge/verify: bounded leeway, bounded lifetime', () => {
  const check = async (t: string, now: number, extra: Partial<VerifyOptions> = {}) =>
    verifyEnrollmentRequest(t, { ...options, store: undefined, now: at(now), ...extra });

  it('iat in the future beyond the leeway is not yet valid, even with nbf in the past', async () => {
    expect(await check(await token({ iat: 40, nbf: 0, exp: 600 }), 0)).toMatchObject({ ok: false, error: 'not_yet_valid' });
  });

  it('the leeway is 30 s by default on exp, nbf and iat, lower when asked, never more than 30 s', async () => {
    const t = await token(); // exp T0+600
    expect(await check(t, 629)).toMatchObject({ ok: true });
    expect(await check(t, 630)).toMatchObject({ ok: false, error: 'expired' });
    expect(await check(t, -30)).toMatchObject({ ok: true });
    expect(await check(t, -31)).toMatchObject({ ok: false, error: 'not_yet_valid' });
    expect(await check(t, 601, { clockToleranceSeconds: 0 })).toMatchObject({ ok: false, error: 'expired' });
    await expect(check(t, 60, { clockToleranceSeconds: 31 })).rejects.toThrow(TypeError);
    await expect(check(t, 60, { clockToleranceSeconds: -1 })).rejects.toThrow(TypeError);
  });

  it('a lifetime over maxLifetimeSeconds (default 3600) is expired', async () => {
    expect(await check(await token({ exp: 3601 }), 60)).toMatchObject({ ok: false, error: 'expired', faultCode: 's:Authentication' });
    expect(await check(await token({ iat: 0, nbf: -10, exp: 3595 }), 60)).toMatchObject({ ok: false, error: 'expired' });
    expect(await check(await token({ exp: 3600 }), 60)).toMatchObject({ ok: true });
    expect(await check(await token({ exp: 601 }), 60, { maxLifetimeSeconds: 600 })).toMatchObject({ ok: false, error: 'expired' });
    expect(await check(await token({ exp: 600 }), 60, { maxLifetimeSeconds: 600 })).toMatchObject({ ok: true });
    await expect(check(await token(), 60, { maxLifetimeSeconds: 0 })).rejects.toThrow(TypeError);
  });
});
