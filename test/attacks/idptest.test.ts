/**
 * Attacks on POST /tenants/{id}/idp/test from the IdP's side (src/actions/admin/idptest.ts): a
 * hostile stand-in IdP that streams a discovery document without end, answers never, or fills
 * its answers with markup and control characters. The test must end with failed findings,
 * bounded and printable, never the IdP's bytes as they came.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_TOKEN, baseFile, startWithFile, type Running } from '../tenants/helpers.js';

let svc: Running;
let idp: Server;
let idpUrl: string;
const MARK = '<script>alert(1)</script>\u0000\u001b[31m';

beforeAll(async () => {
  idp = createServer((req, res) => {
    if (req.url?.startsWith('/endless/')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (res.write(chunk)) if (res.destroyed) return;
        res.once('drain', pump);
      };
      res.write('{"issuer":"');
      pump();
      req.on('close', () => res.destroy());
      return;
    }
    if (req.url?.startsWith('/silent/')) return; // never answers
    if (req.url?.startsWith('/markup/')) {
      const base = `${idpUrl}/markup`;
      res.writeHead(200, { 'content-type': 'application/json', date: 'not a date' });
      res.end(JSON.stringify({ issuer: `${base}${MARK.repeat(50)}`, jwks_uri: `${base}/jwks${MARK}`, authorization_endpoint: `${base}/a`, token_endpoint: `${base}/t` }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', () => r()));
  idpUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  svc = await startWithFile(baseFile({}), { tenantPollMs: 0 });
}, 60_000);
afterAll(async () => {
  await svc?.close();
  idp?.closeAllConnections();
  await new Promise((r) => idp?.close(r));
});

const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

async function tenantFor(id: string, path: string) {
  const res = await fetch(`${svc.url}/admin/api/v1/tenants`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ id, displayName: id, domains: [`${id}.test`], idp: { kind: 'oidc', issuer: `${idpUrl}/${path}`, clientId: 'c', clientSecret: 'idptest-secret-0123456789', timeoutMs: 1500 } }),
  });
  expect(res.status).toBe(201);
}

async function runTest(id: string) {
  const res = await fetch(`${svc.url}/admin/api/v1/tenants/${id}/idp/test`, { method: 'POST', headers });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as { ok: boolean; findings: Array<{ check: string; ok: boolean; detail: string }> } };
}

describe('a hostile IdP under the IdP test', () => {
  it('a discovery document without end is cut (no 1 MiB+ read, a failed finding)', async () => {
    await tenantFor('endless', 'endless');
    const r = await runTest('endless');
    expect(r.status).toBe(200);
    expect(r.json.ok).toBe(false);
    expect(r.json.findings.find((f) => f.check === 'discovery')?.ok).toBe(false);
    expect(r.text.length).toBeLessThan(4096);
  }, 60_000);

  it('an IdP that never answers fails at its deadline', async () => {
    await tenantFor('silent', 'silent');
    const r = await runTest('silent');
    expect(r.status).toBe(200);
    expect(r.json.ok).toBe(false);
    expect(r.json.findings.find((f) => f.check === 'discovery')?.ok).toBe(false);
  }, 60_000);

  it('markup and control characters from the IdP come back bounded and without control characters', async () => {
    await tenantFor('markup', 'markup');
    const r = await runTest('markup');
    expect(r.status).toBe(200);
    for (const f of r.json.findings) {
      // eslint-disable-next-line no-control-regex
      expect(f.detail, f.check).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      expect(f.detail.length, f.check).toBeLessThanOrEqual(700);
    }
    expect(r.text).not.toContain('idptest-secret-0123456789');
  }, 60_000);
});
