/** The once-per-enrollment rule through fedbridge/verify with the real SQLite store. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite.js';
import { verifyEnrollmentRequest, type VerifyOptions } from '../../src/verify/index.js';
import { AUDIENCE, DEVICE_ID, ENTRA_AUDIENCE, ENTRA_TENANT, ISSUER, T0, entraJwks, fedbridgeJwks, fixture, readFault, messageIdOf } from './helpers.js';

let store: SqliteStore;
let options: VerifyOptions;

beforeEach(async () => {
  store = await SqliteStore.open(':memory:', { now: T0 * 1000 }); // the store's epoch begins before the fixture tokens' iat
  options = { issuer: ISSUER, keys: fedbridgeJwks, audience: AUDIENCE, store, now: () => (T0 + 60) * 1000 };
});
afterEach(() => store.close());

const verify = (name: string, extra: Partial<VerifyOptions> = {}) => verifyEnrollmentRequest(fixture(name), { ...options, ...extra });

describe('replay rule with a store', () => {
  it('GetPolicies any number of times, Enroll consumes, a same-device retry passes, then everything but GetPolicies is replayed', async () => {
    expect(await verify('getpolicies.xml')).toMatchObject({ ok: true, replay: 'fresh' });
    expect(await verify('getpolicies.xml')).toMatchObject({ ok: true, replay: 'fresh' });
    expect(await verify('enroll.xml')).toMatchObject({ ok: true, message: 'Enroll', deviceId: DEVICE_ID, replay: 'consumed' });
    expect(await verify('enroll-retry.xml')).toMatchObject({ ok: true, replay: 'retry' });

    const other = await verify('enroll-other-device.xml');
    expect(other).toMatchObject({ ok: false, error: 'replayed', faultCode: 's:Authentication' });
    if (!other.ok) expect(readFault(other.fault())).toMatchObject({ subcode: 's:Authentication', relatesTo: messageIdOf(fixture('enroll-other-device.xml')) });

    // docs/enrollment-server.md: GetPolicies stays valid after consumption (a retrying device repeats it).
    expect(await verify('getpolicies.xml')).toMatchObject({ ok: true, replay: 'retry' });
  });

  it('consume: false checks an Enroll without spending it; consume: true spends a GetPolicies', async () => {
    expect(await verify('enroll.xml', { consume: false })).toMatchObject({ ok: true, replay: 'fresh' });
    expect(await verify('getpolicies.xml', { consume: true })).toMatchObject({ ok: true, replay: 'consumed' });
    expect(await verify('enroll.xml')).toMatchObject({ ok: false, error: 'replayed' });
  });

  it('a refused token is never consumed', async () => {
    expect(await verify('getpolicies.xml', { consume: true, audience: 'urn:other' })).toMatchObject({ ok: false, error: 'wrong_audience' });
    expect(await verify('enroll.xml')).toMatchObject({ ok: true, replay: 'consumed' });
  });

  it('Entra tokens follow the same rule, keyed by their uti', async () => {
    const entra = { jwks: entraJwks, tenantIds: [ENTRA_TENANT], audience: ENTRA_AUDIENCE };
    expect(await verify('entra-good-v1.xml', { entra })).toMatchObject({ ok: true, kind: 'entra', replay: 'fresh' });
    expect(await verify('entra-good-v1.xml', { entra, consume: true })).toMatchObject({ ok: true, replay: 'consumed' });
    // A GetPolicies after consumption passes (docs/enrollment-server.md); an Enroll of another device does not.
    expect(await verify('entra-good-v1.xml', { entra })).toMatchObject({ ok: true, replay: 'retry' });
    expect(await verify('entra-good-v1.xml', { entra, consume: true })).toMatchObject({ ok: false, error: 'replayed' });
  });
});
