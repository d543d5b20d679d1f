/** POST /introspect: the four body forms, the replay rule, client auth and hostile tokens. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../helpers/html.js';
import { startService, testConfigFile, type TestService } from '../helpers/service.js';
import { buildEnrollEnvelope, buildGetPoliciesEnvelope } from '../../src/soap/build.js';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
const SECRET = 'mdm-secret-0123456789abcdef';
const OTHER_SECRET = 'other-secret-0123456789abcdef';
let svc: TestService;

const hash = hashPasswordSync('pw-1234567');
const tenant = (id: string, domain: string, audience?: string) => ({
  id,
  displayName: id,
  domains: [domain],
  ...(audience ? { audience } : {}),
  idp: { kind: 'local', users: [{ upn: `ann@${domain}`, passwordHash: hash }] },
});

beforeAll(async () => {
  svc = await startService({
    file: testConfigFile({
      tokens: { ttlSeconds: 600, audience: 'urn:test:mdm' },
      enrollmentServers: [
        { id: 'mdm', secret: SECRET },
        { id: 'only-fabrikam', secret: OTHER_SECRET, tenants: ['fabrikam'] },
      ],
      tenants: [tenant('contoso', 'contoso.test', 'urn:contoso:mdm'), tenant('fabrikam', 'fabrikam.test')],
    }),
  });
});
afterAll(() => svc.close());

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function introspect(body: unknown, opts: { auth?: string | null; form?: boolean } = {}) {
  const headers: Record<string, string> = {};
  if (opts.auth !== null) headers.authorization = opts.auth ?? basic('mdm', SECRET);
  let payload: string;
  if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(body as Record<string, string>).toString();
  } else {
    headers['content-type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(`${svc.url}/introspect`, { method: 'POST', headers, body: payload });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

async function token(domain = 'contoso.test') {
  const r = await signIn(svc.url, { appru: APPRU, hint: `ann@${domain}`, user: `ann@${domain}`, password: 'pw-1234567' });
  if (!r.token) throw new Error(`sign-in failed: ${r.res.status}`);
  return r.token;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('introspection body forms', () => {
  it('raw token (JSON body)', async () => {
    const t = await token();
    const { status, json } = await introspect({ token: t });
    expect(status).toBe(200);
    expect(json).toMatchObject({ active: true, upn: 'ann@contoso.test', tid: 'contoso', aud: 'urn:contoso:mdm', message: null, deviceId: null });
  });

  it('BST content (form body), with line breaks inside the base64', async () => {
    const t = await token();
    const wrapped = b64(t).replace(/(.{64})/g, '$1\r\n  ');
    const { json } = await introspect({ token: wrapped }, { form: true });
    expect(json).toMatchObject({ active: true, upn: 'ann@contoso.test' });
  });

  it('GetPolicies envelope', async () => {
    const t = await token();
    const { json } = await introspect({ token: buildGetPoliciesEnvelope({ token: t }) });
    expect(json).toMatchObject({ active: true, message: 'GetPolicies', replay: 'fresh' });
  });

  it('Enroll envelope reports the DeviceID and AdditionalContext', async () => {
    const t = await token();
    const env = buildEnrollEnvelope({ token: t, deviceId: 'DEV-1', additionalContext: { DeviceName: 'LAPTOP-1' } });
    const { json } = await introspect({ token: env });
    expect(json).toMatchObject({ active: true, message: 'Enroll', deviceId: 'DEV-1', replay: 'consumed' });
    expect(json.additionalContext).toMatchObject({ DeviceID: 'DEV-1', DeviceName: 'LAPTOP-1' });
  });
});

describe('replay rule', () => {
  it('GetPolicies any number of times, then Enroll consumes; a retry by the same device is idempotent', async () => {
    const t = await token();
    for (let i = 0; i < 3; i++) {
      expect((await introspect({ token: buildGetPoliciesEnvelope({ token: t }) })).json.active).toBe(true);
    }
    expect((await introspect({ token: buildEnrollEnvelope({ token: t, deviceId: 'DEV-A' }) })).json).toMatchObject({ active: true, replay: 'consumed' });
    expect((await introspect({ token: buildEnrollEnvelope({ token: t, deviceId: 'DEV-A' }) })).json).toMatchObject({ active: true, replay: 'retry' });
    expect((await introspect({ token: buildEnrollEnvelope({ token: t, deviceId: 'DEV-B' }) })).json).toEqual(
      expect.objectContaining({ active: false, error: 'replayed' }),
    );
    // docs/enrollment-server.md: GetPolicies stays valid after consumption (a retrying device repeats it first).
    expect((await introspect({ token: buildGetPoliciesEnvelope({ token: t }) })).json).toMatchObject({ active: true, message: 'GetPolicies', replay: 'retry' });
    expect((await introspect({ token: t })).json).toMatchObject({ active: false, error: 'replayed' });
  });

  it('consume:false opts an Enroll out; consume:true consumes a raw token', async () => {
    const t = await token();
    expect((await introspect({ token: buildEnrollEnvelope({ token: t, deviceId: 'D' }), consume: false })).json.replay).toBe('fresh');
    expect((await introspect({ token: t, consume: true })).json).toMatchObject({ active: true, replay: 'consumed' });
    // Consumed without a DeviceID: nothing can be an idempotent retry of it.
    expect((await introspect({ token: t, consume: true })).json).toMatchObject({ active: false, error: 'replayed' });
    expect((await introspect({ token: buildEnrollEnvelope({ token: t, deviceId: 'D' }) })).json).toMatchObject({ active: false, error: 'replayed' });
  });

  it('consume as a form string', async () => {
    const t = await token();
    expect((await introspect({ token: t, consume: 'true' }, { form: true })).json.replay).toBe('consumed');
  });
});

describe('audit', () => {
  it('records consumptions and refusals (with the jti, never the token), not plain checks', async () => {
    const t = await token();
    await introspect({ token: buildGetPoliciesEnvelope({ token: t }) });
    await introspect({ token: buildEnrollEnvelope({ token: t, deviceId: 'DEV-AUDIT' }) });
    await introspect({ token: buildEnrollEnvelope({ token: t, deviceId: 'DEV-OTHER' }) });
    const { deps } = svc.service;
    await deps.audit.flush();
    const jti = JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString()).jti;
    const events = await deps.store.listAudit({ limit: 50 });
    const mine = events.filter((e) => JSON.stringify(e).includes(jti) || e.detail?.error === 'replayed');
    expect(mine.map((e) => e.type)).toEqual(expect.arrayContaining(['introspect.consumed', 'introspect.refused']));
    expect(mine.find((e) => e.type === 'introspect.consumed')?.detail).toMatchObject({ jti, client: 'mdm', message: 'Enroll', deviceId: 'DEV-AUDIT' });
    expect(JSON.stringify(events)).not.toContain(t);
  });
});

describe('clients and tenants', () => {
  it('missing or wrong credentials answer 401', async () => {
    const t = await token();
    expect((await introspect({ token: t }, { auth: null })).status).toBe(401);
    expect((await introspect({ token: t }, { auth: basic('mdm', 'wrong') })).status).toBe(401);
    expect((await introspect({ token: t }, { auth: basic('nobody', SECRET) })).status).toBe(401);
    expect((await introspect({ token: t }, { auth: 'Bearer x' })).json).toMatchObject({ error: 'invalid_client' });
  });

  it('a client limited to some tenants gets wrong_audience for the others', async () => {
    const contoso = await token('contoso.test');
    const fabrikam = await token('fabrikam.test');
    const auth = basic('only-fabrikam', OTHER_SECRET);
    expect((await introspect({ token: contoso }, { auth })).json).toMatchObject({ active: false, error: 'wrong_audience' });
    expect((await introspect({ token: fabrikam }, { auth })).json).toMatchObject({ active: true, tid: 'fabrikam', aud: 'urn:test:mdm' });
  });
});

describe('hostile token values answer 200 with active:false', () => {
  const cases: Array<[string, () => Promise<string>, string]> = [
    ['garbage', async () => 'not a token at all', 'malformed'],
    ['bad XML', async () => '<s:Envelope><s:Body>', 'malformed'],
    ['a DTD', async () => '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>', 'malformed'],
    ['double base64', async () => b64(b64(await token())), 'malformed'],
    ['a foreign ValueType', async () => buildGetPoliciesEnvelope({ token: await token() }).replace(/ValueType="[^"]*"/, 'ValueType="urn:ietf:params:oauth:token-type:saml2"'), 'wrong_token_type'],
    ['an envelope without a BST', async () => '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body/></s:Envelope>', 'malformed'],
    ['a tampered signature', async () => { const t = await token(); return t.slice(0, -6) + (t.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'); }, 'bad_signature'],
    ['a tampered payload', async () => { const [h, p, s] = (await token()).split('.'); const c = JSON.parse(Buffer.from(p, 'base64url').toString()); c.upn = 'mallory@contoso.test'; return [h, Buffer.from(JSON.stringify(c)).toString('base64url'), s].join('.'); }, 'bad_signature'],
    ['alg none', async () => { const [, p] = (await token()).split('.'); return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`; }, 'bad_signature'],
    ['a huge value', async () => 'A'.repeat(200_000), 'malformed'],
  ];
  for (const [name, make, code] of cases) {
    it(name, async () => {
      const { status, json } = await introspect({ token: await make() });
      expect(status).toBe(200);
      expect(json).toMatchObject({ active: false, error: code });
    });
  }

  it('expired and not-yet-valid tokens (clock moved)', async () => {
    const t = await token();
    svc.clock.advance(11 * 60_000);
    try {
      expect((await introspect({ token: t })).json).toMatchObject({ active: false, error: 'expired' });
    } finally {
      svc.clock.advance(-11 * 60_000);
    }
    svc.clock.advance(-5 * 60_000);
    try {
      expect((await introspect({ token: t })).json).toMatchObject({ active: false, error: 'not_yet_valid' });
    } finally {
      svc.clock.advance(5 * 60_000);
    }
  });
});

describe('unparseable requests answer 400 with a JSON error', () => {
  it('bad JSON', async () => {
    const { status, json } = await introspect('{"token": ');
    expect(status).toBe(400);
    expect(json.error).toBeTruthy();
  });
  it('no token', async () => {
    const { status, json } = await introspect({ nope: 1 });
    expect(status).toBe(400);
    expect(json.error).toBe('invalid_request');
  });
  it('token not a string', async () => {
    expect((await introspect({ token: 42 })).status).toBe(400);
  });
  it('consume not a boolean', async () => {
    expect((await introspect({ token: 'x', consume: 'maybe' })).status).toBe(400);
  });
  it('a body over the limit answers 413', async () => {
    const { status, json } = await introspect({ token: 'A'.repeat(300_000) });
    expect(status).toBe(413);
    expect(json.error).toBe('request_too_large');
  });
});
