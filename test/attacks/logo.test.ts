/**
 * Attacks through tenant logos (docs/admin-api.md "Tenant logo"): SVG with script, DOCTYPE/XXE,
 * external references; polyglots; a content type that lies about the bytes; the size limit to
 * the byte, declared or chunked; and path tricks in GET /t/{id}/logo.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { ADMIN_TOKEN, baseFile, localTenant, startWithFile, type Running } from '../tenants/helpers.js';

let svc: Running;
const LIMIT = 512 * 1024;
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

beforeAll(async () => {
  svc = await startWithFile(baseFile({ tenants: [localTenant('contoso', 'contoso.test', 'pw-contoso-1'), localTenant('other', 'other.test', 'pw-other-1')] }), { tenantPollMs: 0 });
}, 60_000);
afterAll(async () => {
  await svc?.close();
});

async function upload(body: Buffer | string, type: string, id = 'contoso') {
  const res = await fetch(`${svc.url}/admin/api/v1/tenants/${id}/logo`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': type }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : null };
}

const svg = (inner: string, head = '') => `${head}<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">${inner}</svg>`;

describe('SVG logos', () => {
  it('refuses a DOCTYPE (XXE, entity expansion) and non-SVG roots, without echoing the body', async () => {
    const bad = [
      svg('<text>&xxe;</text>', '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'),
      svg('<text>&a;</text>', '<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'),
      '<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>',
      '<svg><script>alert(1)</script></svg>', // no SVG namespace
      '<x:svg xmlns:x="urn:evil"/>',
      svg('<script>alert(1)</script>').slice(0, -3),
    ];
    for (const body of bad) {
      const res = await upload(body, 'image/svg+xml');
      expect(res.status, body).toBe(400);
      expect(res.json.error).toBe('invalid_logo');
      expect(res.text).not.toContain('alert(1)');
      expect(res.text).not.toContain('/etc/passwd');
    }
  });

  it('an SVG with script, foreignObject and external references is served inert: its own CSP sandbox, nosniff, never inlined in a page', async () => {
    const body = svg(
      '<script>alert(1)</script><foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml" src="https://evil.example/"/></foreignObject>' +
        '<image xlink:href="https://evil.example/track.png"/><use href="https://evil.example/x.svg#a"/><a href="javascript:alert(2)"><rect width="5" height="5" onclick="alert(3)"/></a>',
    );
    const up = await upload(body, 'image/svg+xml; charset=utf-8');
    expect(up.status).toBe(200);
    const res = await fetch(`${svc.url}/t/contoso/logo`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain('sandbox');
    expect(csp).not.toMatch(/script-src/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    // The sign-in page shows it through <img> (where an SVG runs nothing), not inlined.
    const page = await (await fetch(`${svc.url}/t/contoso/auth`)).text();
    expect(page).not.toContain('alert(1)');
    expect(page).not.toContain('evil.example');
  });
});

describe('bytes that lie', () => {
  it('refuses a content type the bytes are not, and types outside the list', async () => {
    const html = Buffer.from('<html><script>alert(1)</script></html>');
    expect((await upload(html, 'image/png')).status).toBe(400);
    expect((await upload(html, 'image/jpeg')).status).toBe(400);
    expect((await upload(PNG, 'image/jpeg')).status).toBe(400);
    for (const type of ['text/html', 'image/svg', 'image/gif', 'application/octet-stream', 'image/png, text/html', 'text/html; x=image/png']) {
      const res = await upload(PNG, type);
      expect([400, 415], type).toContain(res.status);
      expect(res.json.error, type).toBe('invalid_logo');
    }
  });

  it('a PNG/HTML polyglot is stored but only ever served as image/png with nosniff and a sandbox', async () => {
    const poly = Buffer.concat([PNG, Buffer.from('<html><script>alert(1)</script></html>')]);
    expect((await upload(poly, 'IMAGE/PNG', 'other')).status).toBe(200);
    const res = await fetch(`${svc.url}/t/other/logo`, { headers: { accept: 'text/html' } });
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain('sandbox');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
  });
});

describe('the size limit, to the byte', () => {
  it('takes exactly 512 KiB and refuses one byte more, declared or chunked', async () => {
    const exact = Buffer.alloc(LIMIT, 0);
    PNG.copy(exact);
    expect((await upload(exact, 'image/png')).status).toBe(200);
    const over = Buffer.alloc(LIMIT + 1, 0);
    PNG.copy(over);
    const res = await upload(over, 'image/png');
    expect(res.status).toBe(413);
    expect(res.json.error).toBe('invalid_logo');
    // Chunked, no Content-Length: counted as it arrives.
    const chunked = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      const url = new URL(svc.url);
      const s = connect(Number(url.port), url.hostname, () => {
        s.write(`PUT /admin/api/v1/tenants/contoso/logo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`);
        for (let i = 0; i < over.length; i += 64 * 1024) {
          const piece = over.subarray(i, i + 64 * 1024);
          s.write(`${piece.length.toString(16)}\r\n`);
          s.write(piece);
          s.write('\r\n');
        }
        s.write('0\r\n\r\n');
      });
      s.on('data', (c) => chunks.push(c));
      s.on('error', () => undefined);
      s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      setTimeout(() => s.destroy(), 15_000);
    });
    expect(chunked).toMatch(/^HTTP\/1\.1 413 /);
    expect(chunked).toContain('invalid_logo');
    // The 512 KiB one is still the logo.
    const now = await fetch(`${svc.url}/t/contoso/logo`);
    expect((await now.arrayBuffer()).byteLength).toBe(LIMIT);
  }, 60_000);

  it('refuses an empty logo and a logo without the token (before reading it)', async () => {
    expect((await upload(Buffer.alloc(0), 'image/png')).status).toBe(400);
    const anon = await fetch(`${svc.url}/admin/api/v1/tenants/contoso/logo`, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: new Uint8Array(LIMIT * 4) });
    expect(anon.status).toBe(401);
  });
});

describe('GET /t/{id}/logo path tricks', () => {
  it('answers 404 for ids that are not a tenant’s, whatever their spelling', async () => {
    for (const id of ['CONTOSO', 'contoso%00', 'contoso%2F..', '..%2Fcontoso', '%2e%2e', 'contoso.', 'contoso%20', '%EF%BD%83ontoso', 'x'.repeat(5000), '__proto__', 'constructor', 'hasOwnProperty']) {
      const res = await fetch(`${svc.url}/t/${id}/logo`);
      expect([400, 404], id).toContain(res.status);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.subarray(0, 8).equals(PNG), id).toBe(false);
    }
    // A tenant without a logo: 404, not another tenant's.
    const none = await fetch(`${svc.url}/admin/api/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(localTenant('nologo', 'nologo.test', 'pw-nologo-1')),
    });
    expect(none.status).toBe(201);
    expect((await fetch(`${svc.url}/t/nologo/logo`)).status).toBe(404);
  });

  it('a logo of a deleted store tenant is gone, and does not come back for a new tenant of that id', async () => {
    expect((await upload(PNG, 'image/png', 'nologo')).status).toBe(200);
    expect((await fetch(`${svc.url}/t/nologo/logo`)).status).toBe(200);
    const del = await fetch(`${svc.url}/admin/api/v1/tenants/nologo`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(del.status).toBe(204);
    expect((await fetch(`${svc.url}/t/nologo/logo`)).status).toBe(404);
    const again = await fetch(`${svc.url}/admin/api/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(localTenant('nologo', 'nologo.test', 'pw-nologo-1')),
    });
    expect(again.status).toBe(201);
    expect((await fetch(`${svc.url}/t/nologo/logo`)).status).toBe(404);
  });
});
