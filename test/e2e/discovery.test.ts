/** The reference Discovery.svc over real HTTP (docs/enrollment-server.md "1. Discovery"). */
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDiscoverRequest } from '../../src/soap/build.js';
import { ACTION_DISCOVER_RESPONSE } from '../../src/soap/constants.js';
import { parseDiscoverResponse, readSoapFault } from '../../src/cli/simulate/discover-response.js';
import { startEnrollmentService } from '../helpers/enrollment.js';
import type { TestService } from '../helpers/service.js';

const SOAP = 'application/soap+xml; charset=utf-8';
const soapFixture = (name: string) => readFileSync(new URL(`../fixtures/soap/${name}`, import.meta.url), 'utf8');

/** Raw HTTP, so the test sees Content-Length / Transfer-Encoding exactly as sent. */
function post(url: string, body: string | Buffer, contentType = SOAP): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let svc: TestService;
let url: string;
beforeAll(async () => {
  svc = await startEnrollmentService();
  url = `${svc.url}/EnrollmentServer/Discovery.svc`;
});
afterAll(() => svc.close());

describe('Discovery.svc', () => {
  it('GET answers 200 with an empty body', async () => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(res.headers.get('content-length')).toBe('0');
  });

  it('POST answers a Federated DiscoverResponse, never chunked', async () => {
    const messageId = 'urn:uuid:5c9f3f0e-1d2b-4c8a-9e77-0a1b2c3d4e5f';
    const res = await post(url, buildDiscoverRequest({ email: 'alice@example.com', messageId, requestVersion: '5.0', authPolicies: ['OnPremise', 'Federated'] }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(SOAP);
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.text));
    expect(res.headers['transfer-encoding']).toBeUndefined();
    const r = parseDiscoverResponse(res.text);
    expect(r).toEqual({
      relatesTo: messageId,
      action: ACTION_DISCOVER_RESPONSE,
      authPolicy: 'Federated',
      enrollmentVersion: '5.0',
      enrollmentPolicyServiceUrl: `${svc.url}/EnrollmentServer/Policy.svc`,
      enrollmentServiceUrl: `${svc.url}/EnrollmentServer/Enrollment.svc`,
      authenticationServiceUrl: `${svc.url}/auth`,
    });
    expect(res.text).not.toContain('OnPremise');
  });

  it.each([
    ['3.0', '3.0'],
    ['4.0', '4.0'],
    ['5.0', '5.0'],
    ['6.0', '5.0'],
  ])('RequestVersion %s gets EnrollmentVersion %s', async (requested, answered) => {
    const res = await post(url, buildDiscoverRequest({ email: 'alice@example.com', messageId: 'urn:uuid:1', requestVersion: requested, authPolicies: ['Federated'] }));
    expect(parseDiscoverResponse(res.text).enrollmentVersion).toBe(answered);
  });

  it('echoes the published sample MessageID verbatim (trimmed), namespace with a trailing slash', async () => {
    const res = await post(url, soapFixture('discover-v4-trailing-slash.xml'));
    expect(res.status).toBe(200);
    expect(parseDiscoverResponse(res.text).relatesTo).toBe('urn:uuid: 3f1c9a52-7d0e-4b8a-9c61-2e5d04a7b913');
  });

  it('refuses OnPremise-only and Certificate-only clients with a fault, never OnPremise', async () => {
    for (const body of [
      buildDiscoverRequest({ email: 'alice@example.com', messageId: 'urn:uuid:onprem', authPolicies: ['OnPremise'] }),
      soapFixture('discover-certificate-only.xml'),
    ]) {
      const res = await post(url, body);
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toBe(SOAP);
      expect(readSoapFault(res.text)?.subcode).toBe('s:EnrollmentServer');
      expect(res.text).not.toContain('<AuthPolicy>OnPremise');
    }
  });

  it.each([
    ['a DTD', soapFixture('hostile-xxe.xml')],
    ['entity expansion', soapFixture('hostile-billion-laughs.xml')],
    ['not XML', 'hello'],
    ['a truncated request', buildDiscoverRequest({ email: 'a@example.com', messageId: 'urn:uuid:2' }).slice(0, 300)],
    ['no MessageID', buildDiscoverRequest({ email: 'a@example.com', messageId: 'urn:uuid:2' }).replace(/<a:MessageID>[^<]*<\/a:MessageID>/, '')],
    ['an oversized request', buildDiscoverRequest({ email: 'a@example.com', messageId: 'urn:uuid:3' }).replace('<s:Body>', `<!--${'x'.repeat(70 * 1024)}--><s:Body>`)],
    ['invalid UTF-8', Buffer.from([0x3c, 0x61, 0xff, 0xfe, 0x3e])],
  ])('answers %s with a MessageFormat fault and status 500', async (_name, body) => {
    const res = await post(url, body);
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toBe(SOAP);
    expect(res.headers['content-length']).toBeDefined();
    expect(readSoapFault(res.text)?.subcode).toBe('s:MessageFormat');
  });

  it('stops reading an oversized chunked upload (no Content-Length)', async () => {
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'content-type': SOAP } }, (r) => {
        let text = '';
        r.on('data', (c: Buffer) => (text += c.toString()));
        r.on('end', () => resolve({ status: r.statusCode!, text }));
      });
      req.on('error', reject);
      for (let i = 0; i < 80; i++) req.write(`<!--${'y'.repeat(1024)}-->`);
      req.end();
    });
    expect(res.status).toBe(500);
    expect(readSoapFault(res.text)?.subcode).toBe('s:MessageFormat');
  });

  it('refuses a non-XML content type with a fault', async () => {
    const res = await post(url, 'token=x', 'application/x-www-form-urlencoded');
    expect(res.status).toBe(500);
    expect(readSoapFault(res.text)?.subcode).toBe('s:MessageFormat');
  });

  it('keeps serving after hostile requests', async () => {
    const res = await post(url, buildDiscoverRequest({ email: 'bob@example.com', messageId: 'urn:uuid:after', authPolicies: ['Federated'] }));
    expect(res.status).toBe(200);
  });
});

describe('Discovery.svc without discovery configured', () => {
  it('answers 404 to GET and POST', async () => {
    const plain = await startEnrollmentService({ discovery: false });
    try {
      const u = `${plain.url}/EnrollmentServer/Discovery.svc`;
      expect((await fetch(u)).status).toBe(404);
      expect((await post(u, buildDiscoverRequest({ email: 'a@example.com', messageId: 'urn:uuid:4' }))).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
