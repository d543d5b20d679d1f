/**
 * Bodies built to cost more than they weigh, at the routes built today: compressed bombs
 * (Content-Encoding gzip/deflate) to the console sign-in (no session needed), the admin API and
 * POST /introspect, and chunked JSON over the admin API's 16 KiB limit. Each must be refused
 * quickly with a clear status, never inflated without a bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync, deflateSync } from 'node:zlib';
import { connect } from 'node:net';
import { startService, testConfigFile, type TestService } from '../helpers/service.js';
import { contosoTenant } from '../helpers/mint.js';

const ADMIN = 'bodies-admin-token-0123456789abcdef';
const SECRET = 'bodies-mdm-secret-0123456789abcdef';
let svc: TestService;

beforeAll(async () => {
  svc = await startService({
    file: testConfigFile({
      admin: { token: ADMIN },
      enrollmentServers: [{ id: 'mdm', secret: SECRET }],
      tenants: [contosoTenant()],
    }),
  });
}, 60_000);
afterAll(async () => {
  await svc?.close();
});

/** 64 MiB of one repeated form field, compressed to a few dozen KiB. */
const bomb = (encode: (b: Buffer) => Buffer, prefix: string) => encode(Buffer.concat([Buffer.from(prefix), Buffer.alloc(64 * 1024 * 1024, 'a')]));

describe('compressed bombs', () => {
  it('the console sign-in (no session) refuses them without inflating 64 MiB', async () => {
    for (const [enc, fn] of [['gzip', gzipSync], ['deflate', deflateSync]] as const) {
      const body = bomb(fn, 'token=');
      expect(body.length).toBeLessThan(200 * 1024);
      const res = await fetch(`${svc.url}/admin/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': enc, origin: svc.url, 'sec-fetch-site': 'same-origin' },
        body: new Uint8Array(body),
      });
      // 413: the inflated form passed the 16 KiB limit and reading stopped there.
      expect(res.status, enc).toBe(413);
      expect(res.headers.get('set-cookie') ?? '').not.toContain('fb_console=');
    }
  }, 60_000);

  it('the admin API refuses them (with the token) as over its 16 KiB', async () => {
    const body = bomb(gzipSync, '{"id":"');
    const res = await fetch(`${svc.url}/admin/api/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: new Uint8Array(body),
    });
    expect([400, 413, 415]).toContain(res.status);
  }, 60_000);

  it('POST /introspect does not inflate them', async () => {
    const body = bomb(gzipSync, 'token=');
    const res = await fetch(`${svc.url}/introspect`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`mdm:${SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' },
      body: new Uint8Array(body),
    });
    expect([400, 413, 415]).toContain(res.status);
    const json = (await res.json()) as { active?: unknown };
    expect(json.active).toBeUndefined();
  }, 60_000);
});

describe('chunked JSON to the admin API', () => {
  it('is cut at 16 KiB as it arrives (413), though no length was declared', async () => {
    const url = new URL(svc.url);
    const answer = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      const s = connect(Number(url.port), url.hostname, () => {
        s.write(`POST /admin/api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`);
        const piece = Buffer.from(`{"displayName":"${'x'.repeat(4000)}`);
        s.write(`${piece.length.toString(16)}\r\n`);
        s.write(piece);
        s.write('\r\n');
        for (let i = 0; i < 8; i++) {
          const more = Buffer.from('y'.repeat(4000));
          s.write(`${more.length.toString(16)}\r\n`);
          s.write(more);
          s.write('\r\n');
        }
        s.write('3\r\n"}\n\r\n0\r\n\r\n');
      });
      s.on('data', (c) => chunks.push(c));
      s.on('error', () => undefined);
      s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      setTimeout(() => s.destroy(), 15_000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('request_too_large');
  }, 30_000);
});
