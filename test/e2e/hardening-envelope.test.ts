/**
 * Issue #7, findings 1, 7 and 8 over real HTTP: /introspect decides the message from the
 * Body (one token enrolls one device whatever the Action says), refuses XML amplification
 * before parsing (at /introspect and at the unauthenticated Discovery.svc), and allows no
 * leeway on exp, 5 s on nbf/iat, and no lifetime beyond tokens.ttlSeconds.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../helpers/html.js';
import { APPRU, CLIENT, PASSWORD, startEnrollmentService } from '../helpers/enrollment.js';
import type { TestService } from '../helpers/service.js';
import { buildDiscoverRequest, buildEnrollEnvelope, buildGetPoliciesEnvelope } from '../../src/soap/build.js';
import { ACTION_GET_POLICIES, SOAP_CONTENT_TYPE } from '../../src/soap/constants.js';
import { readSoapFault } from '../../src/cli/simulate/discover-response.js';

let svc: TestService;
/** Claims of a token the service really minted (alice, tenant demo); times are set per test. */
let claims: Record<string, unknown>;

beforeAll(async () => {
  svc = await startEnrollmentService();
  const r = await signIn(svc.url, { appru: APPRU, hint: 'alice@example.com', user: 'alice@example.com', password: PASSWORD });
  if (!r.token) throw new Error(`sign-in failed: ${r.res.status}`);
  claims = decodeJwt(r.token) as Record<string, unknown>;
});
afterAll(() => svc.close());

const nowS = () => Math.floor(svc.clock.now() / 1000);

/** A token signed with the service's own signing key: a fresh jti, valid for tokens.ttlSeconds (600) unless told. */
async function mint(times: { iat?: number; nbf?: number; exp?: number } = {}): Promise<string> {
  const key = svc.service.deps.keys.signingKey(svc.clock.now());
  const iat = times.iat ?? nowS();
  const payload = { ...claims, jti: randomBytes(12).toString('base64url'), iat, nbf: times.nbf ?? iat, exp: times.exp ?? iat + 600 };
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

async function introspect(token: string): Promise<Record<string, any>> {
  const res = await fetch(`${svc.url}/introspect`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

function edit(xml: string, find: string | RegExp, replace: string): string {
  const out = xml.replace(find, replace);
  expect(out, `${String(find)} not found`).not.toBe(xml);
  return out;
}

const ACTION = /<a:Action s:mustUnderstand="1">[^<]*<\/a:Action>/;
const decoy = (id: string) =>
  `<ac:AdditionalContext xmlns:ac="http://schemas.xmlsoap.org/ws/2006/12/authorization"><ac:ContextItem Name="DeviceID"><ac:Value>${id}</ac:Value></ac:ContextItem></ac:AdditionalContext>`;

describe('finding 1: one token enrolls one device, whatever the Action says', () => {
  it('an Enroll body under a GetPolicies Action consumes; a second device is replayed', async () => {
    const token = await mint();
    const send = (deviceId: string) => introspect(edit(buildEnrollEnvelope({ token, deviceId }), ACTION, `<a:Action s:mustUnderstand="1">${ACTION_GET_POLICIES}</a:Action>`));
    expect(await send('DEV-A')).toMatchObject({ active: true, message: 'Enroll', deviceId: 'DEV-A', replay: 'consumed' });
    expect(await send('DEV-A')).toMatchObject({ active: true, replay: 'retry' });
    expect(await send('DEV-B')).toMatchObject({ active: false, error: 'replayed' });
  });

  it('an Enroll body with an empty Action and an extra element before the RST consumes; a second device is replayed', async () => {
    const token = await mint();
    const send = (deviceId: string) =>
      introspect(edit(edit(buildEnrollEnvelope({ token, deviceId }), ACTION, '<a:Action s:mustUnderstand="1"></a:Action>'), '<s:Body>', '<s:Body><Extra/>'));
    expect(await send('DEV-A')).toMatchObject({ active: true, message: 'Enroll', replay: 'consumed' });
    expect(await send('DEV-B')).toMatchObject({ active: false, error: 'replayed' });
  });

  it('a decoy AdditionalContext first in the Body is malformed, and spends nothing', async () => {
    const token = await mint();
    const env = buildEnrollEnvelope({ token, deviceId: 'DEV-REAL' });
    for (let i = 0; i < 2; i++) {
      expect(await introspect(edit(env, '<s:Body>', `<s:Body>${decoy(`DEV-DECOY-${i}`)}`))).toMatchObject({ active: false, error: 'malformed' });
    }
    expect(await introspect(env)).toMatchObject({ active: true, deviceId: 'DEV-REAL', replay: 'consumed' });
  });

  it('two AdditionalContext in the RST, or two DeviceID items, are malformed', async () => {
    const token = await mint();
    const env = buildEnrollEnvelope({ token, deviceId: 'DEV-1' });
    expect(await introspect(edit(env, '</wst:RequestSecurityToken>', `${decoy('DEV-2')}</wst:RequestSecurityToken>`))).toMatchObject({ active: false, error: 'malformed' });
    const second = '<ac:ContextItem Name="DeviceID"><ac:Value>DEV-2</ac:Value></ac:ContextItem>';
    expect(await introspect(edit(env, '</ac:AdditionalContext>', `${second}</ac:AdditionalContext>`))).toMatchObject({ active: false, error: 'malformed' });
  });

  it('a GetPolicies body carrying an RST too is malformed', async () => {
    const token = await mint();
    const rst = buildEnrollEnvelope({ token, deviceId: 'DEV-1' }).match(/<wst:RequestSecurityToken[\s\S]*<\/wst:RequestSecurityToken>/)![0];
    expect(await introspect(edit(buildGetPoliciesEnvelope({ token }), '</s:Body>', `${rst}</s:Body>`))).toMatchObject({ active: false, error: 'malformed' });
  });

  it('a second Body (GetPolicies first, then an Enroll) is malformed', async () => {
    const token = await mint();
    const enrollBody = buildEnrollEnvelope({ token, deviceId: 'DEV-1' }).match(/<s:Body>[\s\S]*<\/s:Body>/)![0];
    expect(await introspect(edit(buildGetPoliciesEnvelope({ token }), '</s:Envelope>', `${enrollBody}</s:Envelope>`))).toMatchObject({ active: false, error: 'malformed' });
  });

  it('an envelope that is neither a GetPolicies nor an Enroll is malformed', async () => {
    const token = await mint();
    const env = edit(buildGetPoliciesEnvelope({ token }), /<GetPolicies[\s\S]*<\/GetPolicies>/, '<Something/>');
    expect(await introspect(env)).toMatchObject({ active: false, error: 'malformed' });
  });

  it('a header BST with a comment, CDATA or an element inside is malformed', async () => {
    const token = await mint();
    const value = Buffer.from(token).toString('base64');
    const env = buildGetPoliciesEnvelope({ token });
    for (const inner of [`${value.slice(0, 10)}<!-- x -->${value.slice(10)}`, `<![CDATA[${value}]]>`, `${value}<x/>`]) {
      expect(await introspect(edit(env, value, inner))).toMatchObject({ active: false, error: 'malformed' });
    }
    expect(await introspect(env)).toMatchObject({ active: true, message: 'GetPolicies' });
  });
});

describe('refusals never quote the input', () => {
  it("the parser's complaint (a tag or entity name) stays out of error_description", async () => {
    const env = (inner: string) => `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetPolicies>${inner}</GetPolicies></s:Body></s:Envelope>`;
    for (const inner of ['&zqMarkerEntity;', '<zqMarkerTag></zqMarkerOther>', '<zq:marker/>', '<a zqMarker="1" zqMarker="2"/>']) {
      const json = await introspect(env(inner));
      expect(json).toMatchObject({ active: false, error: 'malformed' });
      expect(json.error_description).toBe("The enrollment request or its security token could not be read."); // fixed text per code (issue #9)
      expect(JSON.stringify(json)).not.toMatch(/zq/i);
    }
  });
});

describe('finding 7: XML amplification is refused before parsing', () => {
  const nested = (depth: number) => '<n>'.repeat(depth) + '</n>'.repeat(depth);
  const nsPerLevel = (depth: number) =>
    Array.from({ length: depth }, (_, i) => `<n xmlns:a${i}="urn:a${i}" xmlns:b${i}="urn:b${i}" xmlns:c${i}="urn:c${i}">`).join('') + '</n>'.repeat(depth);

  it('/introspect: a GetPolicies carrying deep nesting (~100 KiB, and just past the limit) answers 200 malformed', async () => {
    const token = await mint();
    const gp = buildGetPoliciesEnvelope({ token });
    const deep = edit(gp, '</GetPolicies>', `${nested(14_000)}</GetPolicies>`);
    expect(deep.length).toBeGreaterThan(95 * 1024);
    expect(await introspect(deep)).toMatchObject({ active: false, error: 'malformed' });
    expect(await introspect(edit(gp, '</GetPolicies>', `${nested(30)}</GetPolicies>`))).toMatchObject({ active: false, error: 'malformed' });
    expect(await introspect(edit(gp, '</GetPolicies>', `${nested(20)}</GetPolicies>`))).toMatchObject({ active: true });
  });

  it('/introspect: a namespace declaration per level answers 200 malformed', async () => {
    const token = await mint();
    const env = edit(buildGetPoliciesEnvelope({ token }), '</GetPolicies>', `${nsPerLevel(25)}</GetPolicies>`);
    expect(await introspect(env)).toMatchObject({ active: false, error: 'malformed' });
  });

  describe('Discovery.svc (unauthenticated)', () => {
    const discover = async (body: string) => {
      const res = await fetch(`${svc.url}/EnrollmentServer/Discovery.svc`, { method: 'POST', headers: { 'content-type': SOAP_CONTENT_TYPE }, body });
      return { status: res.status, type: res.headers.get('content-type'), fault: readSoapFault(await res.text()) };
    };
    const request = (extra: string) =>
      buildDiscoverRequest({ email: 'alice@example.com', messageId: 'urn:uuid:deep', authPolicies: ['Federated'] }).replace('</request>', `${extra}</request>`);

    it('62 KiB of deep nesting gets a MessageFormat fault', async () => {
      const body = request(nested(9_000));
      expect(body.length).toBeGreaterThan(60 * 1024);
      expect(body.length).toBeLessThan(64 * 1024);
      expect(await discover(body)).toEqual({ status: 500, type: SOAP_CONTENT_TYPE, fault: { subcode: 's:MessageFormat', reason: expect.any(String) } });
    });

    it('a namespace declaration per level gets a MessageFormat fault', async () => {
      expect(await discover(request(nsPerLevel(25)))).toMatchObject({ status: 500, fault: { subcode: 's:MessageFormat' } });
    });

    it('thousands of flat elements get a MessageFormat fault; a plain request still works', async () => {
      expect(await discover(request('<x/>'.repeat(5_000)))).toMatchObject({ status: 500, fault: { subcode: 's:MessageFormat' } });
      expect(await discover(request(''))).toMatchObject({ status: 200, fault: null });
    });
  });
});

describe('finding 8: no leeway on exp, 5 s on nbf/iat, lifetime at most tokens.ttlSeconds', () => {
  it('a token that expired 1 s ago, or expires this very second, is expired', async () => {
    // Tokens issued before the store was created count as possibly consumed (fail closed,
    // docs/operations.md): move the clock past a whole lifetime so these are issued after it.
    svc.clock.advance(700_000);
    const now = nowS();
    expect(await introspect(await mint({ iat: now - 601, exp: now - 1 }))).toMatchObject({ active: false, error: 'expired' });
    expect(await introspect(await mint({ iat: now - 600, exp: now }))).toMatchObject({ active: false, error: 'expired' });
    expect(await introspect(await mint({ iat: now - 599, exp: now + 1 }))).toMatchObject({ active: true });
  });

  it('the same through the clock: a real token one second past its exp', async () => {
    const token = await mint();
    const { exp } = decodeJwt(token);
    const saved = svc.clock.t;
    svc.clock.t = (exp! + 1) * 1000;
    try {
      expect(await introspect(token)).toMatchObject({ active: false, error: 'expired' });
    } finally {
      svc.clock.t = saved;
    }
  });

  it('nbf or iat more than 5 s ahead is not yet valid; 5 s is tolerated', async () => {
    const now = nowS();
    expect(await introspect(await mint({ iat: now, nbf: now + 6, exp: now + 600 }))).toMatchObject({ active: false, error: 'not_yet_valid' });
    expect(await introspect(await mint({ iat: now + 6, nbf: now, exp: now + 600 }))).toMatchObject({ active: false, error: 'not_yet_valid' });
    expect(await introspect(await mint({ iat: now + 5, nbf: now + 5, exp: now + 600 }))).toMatchObject({ active: true });
  });

  it('a token living longer than tokens.ttlSeconds is refused as expired', async () => {
    const now = nowS();
    expect(await introspect(await mint({ iat: now, exp: now + 601 }))).toMatchObject({ active: false, error: 'expired' });
    expect(await introspect(await mint({ iat: now, nbf: now - 100, exp: now + 550 }))).toMatchObject({ active: false, error: 'expired' });
    expect(await introspect(await mint({ iat: now - 1000, nbf: now, exp: now + 500 }))).toMatchObject({ active: false, error: 'expired' });
    expect(await introspect(await mint({ iat: now, exp: now + 600 }))).toMatchObject({ active: true });
  });
});
