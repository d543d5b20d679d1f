/**
 * Issue #9: the Windows message corpus (test/fixtures/windows/PROVENANCE.md) replayed against a
 * running service: Discover through Discovery.svc; GetPolicies and Enroll through /introspect
 * with a real Fedbridge token in place of theirs, and through fedbridge/verify with the service's
 * published keys; every message's hostile variants; and the retry rule of docs/enrollment-server.md.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISCOVER, ENVELOPES, materialize, read } from '../fixtures/windows/corpus.js';
import { variants } from '../fixtures/windows/variants.js';
import { enrollmentConfig, APPRU, CLIENT, PASSWORD, AUDIENCE } from '../helpers/enrollment.js';
import { startService, type TestService } from '../helpers/service.js';
import { signIn } from '../helpers/html.js';
import { makeCsrBase64 } from '../../src/cli/simulate/csr.js';
import { parseXml, firstByLocalName, elementsByLocalName, text, attrByLocalName } from '../../src/soap/xml.js';
import { soapParts } from '../../src/soap/envelope.js';
import { ACTION_DISCOVER_RESPONSE, NS_DIAGNOSTICS, SOAP_CONTENT_TYPE } from '../../src/soap/constants.js';
import { verifyEnrollmentRequest } from '../../src/verify/index.js';
import { REFUSALS } from '../../src/soap/refusals.js';

const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk, _enc, cb) {
    for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
    cb();
  },
});

let svc: TestService;
const csr = makeCsrBase64('corpus-device');

beforeAll(async () => {
  svc = await startService({ file: enrollmentConfig(), log: pino({ level: 'debug' }, sink) });
});
afterAll(() => svc.close());

async function freshToken(): Promise<string> {
  const r = await signIn(svc.url, { appru: APPRU, hint: 'alice@example.com', user: 'alice@example.com', password: PASSWORD });
  if (!r.token) throw new Error(`sign-in failed: ${r.res.status}`);
  return r.token;
}

const basic = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;
async function introspect(body: unknown, raw = false) {
  const res = await fetch(`${svc.url}/introspect`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/json' },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  const textBody = await res.text();
  return { status: res.status, text: textBody, json: JSON.parse(textBody) as Record<string, any> };
}

function discoverPost(body: string, requestId?: string) {
  return fetch(`${svc.url}/EnrollmentServer/Discovery.svc`, {
    method: 'POST',
    headers: { 'content-type': SOAP_CONTENT_TYPE, ...(requestId ? { 'x-request-id': requestId } : {}) },
    body,
  });
}

/** ActivityId header: element, CorrelationId and text (parsed, not string-compared). */
function activityOf(xml: string): { id: string; correlation: string | null; ns: string | null } | null {
  const { header } = soapParts(parseXml(xml).documentElement);
  const el = header ? firstByLocalName(header, 'ActivityId') : null;
  return el ? { id: text(el), correlation: attrByLocalName(el, 'CorrelationId'), ns: el.namespaceURI } : null;
}

describe('Discover corpus through Discovery.svc', () => {
  it.each(DISCOVER)('$file ($source, RequestVersion $requestVersion) → DiscoverResponse $answers', async (c) => {
    const res = await discoverPost(read(c.file));
    const xml = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(SOAP_CONTENT_TYPE);
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(xml)));
    const doc = parseXml(xml);
    const { header, body } = soapParts(doc.documentElement);
    expect(text(firstByLocalName(header!, 'Action')!)).toBe(ACTION_DISCOVER_RESPONSE);
    expect(text(firstByLocalName(header!, 'RelatesTo')!)).toBe(c.messageId);
    const result = firstByLocalName(body, 'DiscoverResult')!;
    const field = (n: string) => text(firstByLocalName(result, n)!);
    expect(field('AuthPolicy')).toBe('Federated');
    expect(field('EnrollmentVersion')).toBe(c.answers);
    expect(field('AuthenticationServiceUrl')).toBe(`${svc.url}/auth`);
    // ActivityId in Fleet's and Mattrax's form, equal to the request id of the log line.
    const activity = activityOf(xml)!;
    expect(activity.ns).toBe(NS_DIAGNOSTICS);
    expect(activity.correlation).toBe(activity.id);
    expect(activity.id).toBe(res.headers.get('x-request-id'));
    expect(lines.some((l) => l.reqId === activity.id && l.url === '/EnrollmentServer/Discovery.svc')).toBe(true);
  });

  it('a fault carries the ActivityId of the log line and the request id the caller sent', async () => {
    const onPremOnly = read('discover-win10-19043-v4.xml').replace('<AuthPolicy>Federated</AuthPolicy>', '');
    const res = await discoverPost(onPremOnly, 'support-call-0001');
    const xml = await res.text();
    expect(res.status).toBe(500);
    expect(activityOf(xml)).toEqual({ id: 'support-call-0001', correlation: 'support-call-0001', ns: NS_DIAGNOSTICS });
    const traceId = text(firstByLocalName(parseXml(xml), 'TraceId')!);
    expect(traceId).toBe('support-call-0001');
    expect(lines.some((l) => l.reqId === 'support-call-0001' && l.error === 'federated_not_offered')).toBe(true);
  });

  it('a malformed Discover gets a fault whose text repeats nothing of the input; the parser detail is in the debug log only', async () => {
    const bad = read('discover-win11-22621-v6.xml').replace('<DeviceType>', '<DeviceType zqMarkerAttr="1" zqMarkerAttr="2">');
    const res = await discoverPost(bad);
    const xml = await res.text();
    expect(res.status).toBe(500);
    expect(xml).not.toMatch(/zq/i);
    expect(text(firstByLocalName(parseXml(xml), 'Text')!)).toBe(REFUSALS.malformed.description);
    const id = activityOf(xml)!.id;
    const debug = lines.filter((l) => l.reqId === id && l.level === 20);
    expect(debug.length).toBeGreaterThan(0);
  });
});

describe('GetPolicies and Enroll corpus through /introspect and fedbridge/verify', () => {
  for (const c of ENVELOPES) {
    it(`${c.file} (${c.source}) → ${c.expect}`, async () => {
      const token = await freshToken();
      const xml = materialize(c.file, token, csr);
      const r = await introspect({ token: xml, consume: false });
      expect(r.status).toBe(200);
      const v = await verifyEnrollmentRequest(xml, { issuer: svc.url, audience: AUDIENCE, consume: false });
      if (c.expect === 'active') {
        expect(r.json).toMatchObject({ active: true, upn: 'alice@example.com', message: c.message, deviceId: c.deviceId });
        expect(v).toMatchObject({ ok: true, upn: 'alice@example.com', message: c.message, deviceId: c.deviceId, messageId: c.messageId });
      } else {
        expect(r.json).toEqual({ active: false, error: c.expect, error_description: REFUSALS[c.expect].description, message: c.message });
        expect(v).toMatchObject({ ok: false, error: c.expect, messageId: c.messageId });
        expect(r.text).not.toMatch(/zq|alice|uuid|[0-9A-F]{32}/i);
      }
    });
  }

  it('every hostile variant of every message gets its stable code, never a 5xx, never the input echoed', async () => {
    const token = await freshToken();
    let checked = 0;
    for (const c of ENVELOPES.filter((e) => e.expect === 'active')) {
      for (const v of variants(materialize(c.file, token, csr), token)) {
        const r = await introspect({ token: v.xml, consume: false });
        expect(r.status, `${c.file}: ${v.name}`).toBe(200);
        if (v.expect === 'active') {
          expect(r.json, `${c.file}: ${v.name}`).toMatchObject({ active: true, message: c.message });
        } else {
          // message is null when the envelope as a whole was refused (a stray credential).
          expect(r.json, `${c.file}: ${v.name}`).toEqual({ active: false, error: v.expect, error_description: REFUSALS[v.expect].description, message: expect.toBeOneOf([c.message, null]) });
          expect(r.text).not.toContain(c.messageId.slice(-12));
          if (c.deviceId) expect(r.text).not.toContain(c.deviceId);
        }
        const lib = await verifyEnrollmentRequest(v.xml, { issuer: svc.url, audience: AUDIENCE, consume: false });
        expect(lib.ok ? 'active' : lib.error, `verify ${c.file}: ${v.name}`).toBe(v.expect);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(6 * 6);
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
  });
});

describe('retry rule (docs/enrollment-server.md) with corpus messages', () => {
  it('GetPolicies → Enroll → (enrollment fails) GetPolicies → Enroll with the same DeviceID passes; another device is replayed', async () => {
    const token = await freshToken();
    const gp = materialize('getpolicies-win10-wrapped.xml', token, csr);
    const enroll = materialize('enroll-win10-19043.xml', token, csr);
    const other = materialize('enroll-win11-22621.xml', token, csr);
    expect((await introspect({ token: gp })).json).toMatchObject({ active: true, replay: 'fresh' });
    expect((await introspect({ token: enroll })).json).toMatchObject({ active: true, replay: 'consumed' });
    expect((await introspect({ token: gp })).json).toMatchObject({ active: true, message: 'GetPolicies', replay: 'retry' });
    expect((await introspect({ token: enroll })).json).toMatchObject({ active: true, replay: 'retry' });
    expect((await introspect({ token: other })).json).toMatchObject({ active: false, error: 'replayed' });
  });
});

describe('R3: a JSON field given twice', () => {
  it.each([
    ['token twice (bad first, good last)', (t: string) => `{"token":"x","token":${JSON.stringify(t)}}`],
    ['token twice, second escaped', (t: string) => `{"token":${JSON.stringify(t)},"tok\\u0065n":"x"}`],
    ['consume twice', (t: string) => `{"token":${JSON.stringify(t)},"consume":false,"consume":true}`],
  ])('%s is a 400 with a JSON error', async (_n, body) => {
    const token = await freshToken();
    const r = await introspect(body(token), true);
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('invalid_request');
    expect(r.text).not.toContain(token.slice(0, 20));
  });

  it('nested objects may repeat keys of the top level; the token is still checked', async () => {
    const token = await freshToken();
    const r = await introspect(`{"token":${JSON.stringify(token)},"meta":{"token":"a","x":[{"token":1}]}}`, true);
    expect(r.status).toBe(200);
    expect(r.json.active).toBe(true);
  });
});

describe('the fault of fedbridge/verify for a corpus message', () => {
  it('parses as a SOAP 1.2 fault with Detail, the response Action and the caller\'s activity id', async () => {
    const xml = materialize('enroll-fleet.xml', 'a.b.c', csr);
    const v = await verifyEnrollmentRequest(xml, { issuer: svc.url, audience: AUDIENCE });
    expect(v.ok).toBe(false);
    if (v.ok) return;
    const fault = v.fault({ activityId: 'mdm-req-42' });
    const doc = parseXml(fault);
    expect(text(firstByLocalName(doc, 'Action')!)).toBe('http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RSTRC/wstep');
    expect(text(firstByLocalName(doc, 'RelatesTo')!)).toBe('urn:uuid:27c4e9a3-6f1d-4b08-9e52-c8a0d3f6b1e7');
    expect(activityOf(fault)).toEqual({ id: 'mdm-req-42', correlation: 'mdm-req-42', ns: NS_DIAGNOSTICS });
    expect(elementsByLocalName(doc, 'ErrorType').map(text)).toEqual(['InvalidEnrollmentData']);
    expect(v.faultStatus).toBe(500);
  });
});
