/**
 * fedbridge/verify against recorded envelopes (test/fixtures/enrollment/, tokens signed
 * at T0): every bad input is refused with its code AND its SOAP fault subcode.
 */
import { describe, expect, it } from 'vitest';
import { verifyEnrollmentRequest, type VerifyOptions, type VerifyResult } from '../../src/verify/index.js';
import {
  AUDIENCE, DEVICE_ID, ENTRA_AUDIENCE, ENTRA_CLIENT_ID, ENTRA_TENANT, ISSUER, T0, TENANT, UPN,
  entraJwks, fedbridgeJwks, fixture, messageIdOf, readFault,
} from './helpers.js';

const at = (seconds: number) => () => (T0 + seconds) * 1000;
const base: VerifyOptions = { issuer: ISSUER, keys: fedbridgeJwks, audience: AUDIENCE, tenants: [TENANT], now: at(60) };
const entra = { jwks: entraJwks, tenantIds: [ENTRA_TENANT], audience: [ENTRA_AUDIENCE, ENTRA_CLIENT_ID] };

function expectRefusal(r: VerifyResult, error: string, faultCode: string, relatesTo: string | null) {
  expect(r.ok, JSON.stringify(r)).toBe(false);
  if (r.ok) return;
  expect(r.error).toBe(error);
  expect(r.faultCode).toBe(faultCode);
  const fault = readFault(r.fault());
  expect(fault.subcode).toBe(faultCode);
  expect(fault.relatesTo).toBe(relatesTo);
  expect(fault.reason.length).toBeGreaterThan(10);
}

const oversized = () => fixture('getpolicies.xml').replace('<s:Body', `<!-- ${'x'.repeat(130 * 1024)} --><s:Body`);

interface Row {
  name: string;
  input: () => string;
  options?: Partial<VerifyOptions>;
  error: string;
  faultCode: string;
  /** false when the input never got far enough to read a MessageID. */
  relates?: boolean;
}

const refusals: Row[] = [
  { name: 'not well-formed XML', input: () => fixture('getpolicies-malformed.xml'), error: 'malformed', faultCode: 's:MessageFormat', relates: false },
  { name: 'a truncated envelope', input: () => fixture('getpolicies-truncated.xml'), error: 'malformed', faultCode: 's:MessageFormat', relates: false },
  { name: 'an oversized envelope', input: oversized, error: 'malformed', faultCode: 's:MessageFormat', relates: false },
  { name: 'a DTD-bearing envelope', input: () => fixture('getpolicies-dtd.xml'), error: 'malformed', faultCode: 's:MessageFormat', relates: false },
  { name: 'a foreign BST ValueType', input: () => fixture('getpolicies-foreign-valuetype.xml'), error: 'wrong_token_type', faultCode: 'a:InvalidSecurity' },
  { name: 'an envelope without a Security token', input: () => fixture('getpolicies-no-token.xml'), error: 'malformed', faultCode: 's:MessageFormat' },
  { name: 'BST text that is not base64', input: () => fixture('getpolicies-bad-base64.xml'), error: 'malformed', faultCode: 's:MessageFormat' },
  { name: 'double base64', input: () => fixture('getpolicies-double-base64.xml'), error: 'malformed', faultCode: 's:MessageFormat' },
  { name: 'an expired token', input: () => fixture('getpolicies-expired.xml'), error: 'expired', faultCode: 's:Authentication' },
  { name: 'a good token after its lifetime', input: () => fixture('getpolicies.xml'), options: { now: at(7200) }, error: 'expired', faultCode: 's:Authentication' },
  { name: 'a token not yet valid', input: () => fixture('getpolicies-not-yet-valid.xml'), error: 'not_yet_valid', faultCode: 's:Authentication' },
  { name: 'a token signed by another key', input: () => fixture('getpolicies-bad-signature.xml'), error: 'bad_signature', faultCode: 's:Authentication' },
  { name: 'a token of another issuer', input: () => fixture('getpolicies-other-issuer.xml'), error: 'bad_signature', faultCode: 's:Authentication' },
  { name: 'a token for another audience', input: () => fixture('getpolicies-wrong-audience.xml'), error: 'wrong_audience', faultCode: 's:Authorization' },
  { name: 'a token of another tenant', input: () => fixture('getpolicies-other-tenant.xml'), error: 'wrong_audience', faultCode: 's:Authorization' },
  { name: 'an Entra token when Entra is not enabled', input: () => fixture('entra-good-v1.xml'), error: 'wrong_token_type', faultCode: 'a:InvalidSecurity' },
  { name: 'Entra: a token of another tenant', input: () => fixture('entra-other-tenant.xml'), options: { entra }, error: 'unknown_tenant', faultCode: 's:Authorization' },
  { name: 'Entra: a token without mdm_delegation', input: () => fixture('entra-no-mdm-scope.xml'), options: { entra }, error: 'insufficient_scope', faultCode: 's:Authorization' },
  { name: "Entra: an issuer that is not the token's own tenant", input: () => fixture('entra-wrong-issuer.xml'), options: { entra }, error: 'bad_signature', faultCode: 's:Authentication' },
  { name: 'Entra: a token for another MDM', input: () => fixture('entra-wrong-audience.xml'), options: { entra }, error: 'wrong_audience', faultCode: 's:Authorization' },
  { name: 'Entra: a good token when no tenant is listed', input: () => fixture('entra-good-v1.xml'), options: { entra: { ...entra, tenantIds: [] } }, error: 'unknown_tenant', faultCode: 's:Authorization' },
  { name: 'Entra: a good token checked against other keys', input: () => fixture('entra-good-v1.xml'), options: { entra: { ...entra, jwks: fedbridgeJwks } }, error: 'bad_signature', faultCode: 's:Authentication' },
];

describe('verifyEnrollmentRequest refuses', () => {
  it.each(refusals)('$name → $error / $faultCode', async (row) => {
    const input = row.input();
    const r = await verifyEnrollmentRequest(input, { ...base, ...row.options });
    expectRefusal(r, row.error, row.faultCode, row.relates === false ? null : messageIdOf(input));
  });

  it.each([
    ['garbage', 'not a token at all'],
    ['empty', ''],
    ['a bare JWT with a broken signature', 'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.AAAA'],
  ])('non-envelope input: %s', async (_name, input) => {
    const r = await verifyEnrollmentRequest(input, base);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(readFault(r.fault()).relatesTo).toBeNull();
  });
});

describe('verifyEnrollmentRequest accepts', () => {
  it('a GetPolicies envelope, replay unchecked without a store', async () => {
    const r = await verifyEnrollmentRequest(fixture('getpolicies.xml'), base);
    expect(r).toMatchObject({ ok: true, kind: 'fedbridge', upn: UPN, tid: TENANT, message: 'GetPolicies', deviceId: null, replay: 'unchecked' });
    if (r.ok) expect(r.claims.jti).toBe('fixture-jti-0001');
  });

  it('an Enroll envelope with its DeviceID and AdditionalContext', async () => {
    const r = await verifyEnrollmentRequest(fixture('enroll.xml'), base);
    expect(r).toMatchObject({ ok: true, message: 'Enroll', deviceId: DEVICE_ID, replay: 'unchecked' });
    if (r.ok) expect(r.additionalContext).toMatchObject({ DeviceID: DEVICE_ID, EnrollmentType: 'Full', DeviceType: 'CIMClient_Windows' });
  });

  it('base64 wrapped with line breaks and spaces', async () => {
    expect(await verifyEnrollmentRequest(fixture('getpolicies-wrapped-base64.xml'), base)).toMatchObject({ ok: true, upn: UPN });
  });

  it('the bare BST value and the bare token', async () => {
    const { decodeBase64Strict, parseEnrollmentEnvelope } = await import('../../src/soap/envelope.js');
    const bst = parseEnrollmentEnvelope(fixture('getpolicies.xml')).tokens[0]!.value;
    const token = decodeBase64Strict(bst)!.toString('utf8');
    for (const input of [bst, token]) {
      expect(await verifyEnrollmentRequest(input, base)).toMatchObject({ ok: true, message: null, messageId: null, upn: UPN });
    }
  });

  it('any tenant and audience when the options do not restrict them', async () => {
    const r = await verifyEnrollmentRequest(fixture('getpolicies-other-tenant.xml'), { issuer: ISSUER, keys: fedbridgeJwks, now: at(60) });
    expect(r).toMatchObject({ ok: true, tid: 'fabrikam' });
  });

  it('an issuer option written with a trailing slash', async () => {
    expect(await verifyEnrollmentRequest(fixture('getpolicies.xml'), { ...base, issuer: `${ISSUER}/` })).toMatchObject({ ok: true });
  });

  it('now as a Date', async () => {
    const r = await verifyEnrollmentRequest(fixture('getpolicies.xml'), { ...base, now: () => new Date((T0 + 60) * 1000) });
    expect(r.ok).toBe(true);
  });

  it('Entra v1 and v2 tokens of a listed tenant with mdm_delegation', async () => {
    const v1 = await verifyEnrollmentRequest(fixture('entra-good-v1.xml'), { ...base, entra });
    expect(v1).toMatchObject({ ok: true, kind: 'entra', upn: UPN, tid: ENTRA_TENANT, message: 'GetPolicies', replay: 'unchecked' });
    const v2 = await verifyEnrollmentRequest(fixture('entra-good-v2.xml'), { ...base, entra });
    expect(v2).toMatchObject({ ok: true, kind: 'entra', upn: UPN, tid: ENTRA_TENANT });
  });

  it('Fedbridge tokens still, with Entra enabled', async () => {
    expect(await verifyEnrollmentRequest(fixture('getpolicies.xml'), { ...base, entra })).toMatchObject({ ok: true, kind: 'fedbridge' });
  });

  it('a bare Entra token (routed by its issuer, then fully verified)', async () => {
    const { decodeBase64Strict, parseEnrollmentEnvelope } = await import('../../src/soap/envelope.js');
    const token = decodeBase64Strict(parseEnrollmentEnvelope(fixture('entra-good-v1.xml')).tokens[0]!.value)!.toString('utf8');
    expect(await verifyEnrollmentRequest(token, { ...base, entra })).toMatchObject({ ok: true, kind: 'entra' });
    expect(await verifyEnrollmentRequest(token, base)).toMatchObject({ ok: false, error: 'bad_signature' });
  });
});

describe('fault()', () => {
  it('takes an explicit RelatesTo', async () => {
    const r = await verifyEnrollmentRequest(fixture('getpolicies-expired.xml'), base);
    if (r.ok) throw new Error('expected a refusal');
    expect(readFault(r.fault('urn:uuid:explicit')).relatesTo).toBe('urn:uuid:explicit');
    expect(readFault(r.fault()).code).toBe('s:Receiver');
  });

  it('needs an issuer', async () => {
    await expect(verifyEnrollmentRequest('x', {} as VerifyOptions)).rejects.toThrow(/issuer/);
  });
});
