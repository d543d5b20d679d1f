/**
 * Tenant logos: PUT /admin/api/v1/tenants/{id}/logo judges the bytes (signature, SVG document),
 * the size and the type, each refusal as invalid_logo; GET /t/{id}/logo serves it publicly with
 * ETag, caching, nosniff, and a CSP under which an SVG's script never runs.
 */
import { expect, it } from 'vitest';
import { useAdminService } from './service.js';
import { baseFile, localTenant, startWithFile } from '../tenants/helpers.js';

const admin = useAdminService(() => startWithFile(baseFile({ tenants: [localTenant('contoso', 'contoso.test', 'pw-contoso-1')] }), { tenantPollMs: 0 }));

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('0000000dIHDR-rest-of-a-png')]);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('JFIF-rest')]);
const put = (contentType: string, bytes: string | Uint8Array, id = 'contoso') => admin.api.call('put', '/tenants/{id}/logo', { params: { id }, raw: { contentType, bytes } });

it('refuses a wrong signature, a non-SVG document, a wrong type and an oversize body, each as invalid_logo', async () => {
  const cases: Array<[string, string | Uint8Array, number]> = [
    ['image/png', JPEG, 400],
    ['image/jpeg', PNG, 400],
    ['image/png', 'not an image at all', 400],
    ['image/svg+xml', '<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>', 400],
    ['image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"><g></svg>', 400],
    ['image/svg+xml', '<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>', 400],
    ['text/html', '<svg xmlns="http://www.w3.org/2000/svg"/>', 415],
    ['image/gif', 'GIF89a', 415],
    ['image/png', Buffer.concat([PNG, Buffer.alloc(512 * 1024)]), 413],
  ];
  for (const [type, bytes, status] of cases) {
    const a = await put(type, bytes);
    expect(a.status, `${type} ${String(bytes).slice(0, 40)}`).toBe(status);
    expect(a.json.error).toBe('invalid_logo');
  }
  // Nothing was stored.
  expect((await fetch(`${admin.svc.url}/t/contoso/logo`)).status).toBe(404);
  expect((await put('image/png', PNG, 'nobody')).status).toBe(404);
}, 60_000);

it('serves a PNG with ETag, Cache-Control and nosniff, and answers 304 to its ETag', async () => {
  const up = await put('image/png', PNG);
  expect(up.status).toBe(200);
  expect(up.json).toMatchObject({ id: 'contoso', contentType: 'image/png', size: PNG.length });
  const res = await fetch(`${admin.svc.url}/t/contoso/logo`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('image/png');
  expect(Buffer.from(await res.arrayBuffer()).equals(PNG)).toBe(true);
  const etag = res.headers.get('etag')!;
  expect(etag).toBe(`"${up.json.etag}"`);
  expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect((await fetch(`${admin.svc.url}/t/contoso/logo`, { headers: { 'if-none-match': etag } })).status).toBe(304);
  // A new upload is a new ETag.
  const again = await put('image/jpeg', JPEG);
  expect(again.json.etag).not.toBe(up.json.etag);
  const res2 = await fetch(`${admin.svc.url}/t/contoso/logo`, { headers: { 'if-none-match': etag } });
  expect(res2.status).toBe(200);
  expect(res2.headers.get('content-type')).toBe('image/jpeg');
  await admin.svc.service.deps.audit.flush();
  const audited = await admin.svc.service.deps.store.queryAudit({ limit: 10, tenantId: 'contoso', type: 'tenant.logo.updated' });
  expect(audited.events).toHaveLength(2);
  expect(audited.events[0]).toMatchObject({ requestId: expect.any(String), detail: { contentType: 'image/jpeg', size: JPEG.length, etag: again.json.etag } });
  // The sign-in pages show it.
  const page = await (await fetch(`${admin.svc.url}/t/contoso/auth?appru=${encodeURIComponent('ms-app://windows.immersivecontrolpanel')}`)).text();
  expect(page).toContain(`/t/contoso/logo?v=${encodeURIComponent(again.json.etag)}`);
}, 60_000);

it('an SVG with a script is served under a CSP that runs no script, in a sandbox', async () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(document.cookie)</script><rect width="10" height="10"/></svg>';
  expect((await put('image/svg+xml', svg)).status).toBe(200);
  const res = await fetch(`${admin.svc.url}/t/contoso/logo`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('image/svg+xml');
  expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'; sandbox");
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(await res.text()).toBe(svg);
  expect((await fetch(`${admin.svc.url}/t/nobody/logo`)).status).toBe(404);
}, 60_000);
