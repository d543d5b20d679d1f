/**
 * Requests Node refuses before Koa (oversize headers, malformed HTTP; src/http/listen.ts) get
 * the same branded error page as the rest, in the language of the request's raw
 * Accept-Language when Node had read it, else English, with a nonce CSP that its style passes.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:net';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, rawAcceptLanguage } from '../../src/http/listen.js';
import { decodeEntities } from '../helpers/html.js';

const LOCALES = join(dirname(fileURLToPath(import.meta.url)), '../../views/locales');
const msgs = (l: string) => JSON.parse(readFileSync(join(LOCALES, `${l}.json`), 'utf8')) as Record<string, string>;

let server: Server;
let port: number;
beforeAll(async () => {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = 'ok';
  });
  server = await listen(app, 0, '127.0.0.1');
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

/** Sends raw bytes, returns the status, headers and body the server wrote before closing. */
function raw(request: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(port, '127.0.0.1', () => sock.write(request));
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', reject);
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

const big = (lang: string | null) =>
  `GET /auth HTTP/1.1\r\nHost: x\r\n${lang === null ? '' : `Accept-Language: ${lang}\r\n`}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
const malformed = (lang: string | null) => `GET /auth HTTP/1.1\r\nHost: x\r\n${lang === null ? '' : `Accept-Language: ${lang}\r\n`}Bad Header\r\n\r\n`;

function expectBranded(res: { headers: Record<string, string>; body: string }, locale: string, key: string, code: string) {
  const m = msgs(locale);
  const text = decodeEntities(res.body);
  expect(res.body).toContain(`<html lang="${locale}">`);
  expect(res.headers['content-language']).toBe(locale);
  expect(text).toContain(`<h1>${m[`${key}.title`]}</h1>`);
  expect(text).toContain(m[key]);
  expect(text).toContain(m[`${key}.advice`]);
  expect(res.body).toContain(`<code>${code}</code>`);
  // Styled like every page: the layout's style element, allowed by this answer's own nonce.
  const nonce = /<style nonce="([^"]+)">/.exec(res.body)?.[1];
  expect(nonce).toBeTruthy();
  expect(res.headers['content-security-policy']).toContain(`style-src 'nonce-${nonce}'`);
  expect(res.headers['content-security-policy']).toMatch(/^default-src 'none';/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
}

describe('the page for requests Node refuses', () => {
  it.each([
    ['ja', 'ja'],
    ['de-DE,de;q=0.9', 'de'],
    ['xx, es;q=0.3, fr;q=0.2', 'es'],
    ['fr-CA', 'fr'],
  ])('oversize headers with Accept-Language %j → 431 in %s', async (header, locale) => {
    const res = await raw(big(header));
    expect(res.status).toBe(431);
    expectBranded(res, locale, 'error.headers_too_large', 'request_too_large');
  });

  it('malformed HTTP with Accept-Language: ja → 400 in Japanese', async () => {
    const res = await raw(malformed('ja'));
    expect(res.status).toBe(400);
    expectBranded(res, 'ja', 'error.malformed_request', 'invalid_request');
  });

  it('no Accept-Language, or one that is not a plain language list → English, nothing echoed', async () => {
    expectBranded(await raw(malformed(null)), 'en', 'error.malformed_request', 'invalid_request');
    const hostile = await raw(big('<script>alert(1)</script>, ja'));
    expectBranded(hostile, 'en', 'error.headers_too_large', 'request_too_large');
    expect(hostile.body).not.toContain('script>alert');
  });

  it('the server keeps serving afterwards', async () => {
    await raw(malformed('de'));
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
  });
});

describe('rawAcceptLanguage', () => {
  it('reads the header from the bytes Node had, case-insensitively', () => {
    expect(rawAcceptLanguage(Buffer.from('GET / HTTP/1.1\r\nhost: x\r\naccept-LANGUAGE:  de;q=0.5, ja \r\nx: y\r\n'))).toBe('de;q=0.5, ja ');
  });
  it('nothing without a buffer, a header, or with a header that is no language list', () => {
    expect(rawAcceptLanguage(undefined)).toBeUndefined();
    expect(rawAcceptLanguage(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n'))).toBeUndefined();
    expect(rawAcceptLanguage(Buffer.from('GET / HTTP/1.1\r\nAccept-Language: ja"><b>\r\n'))).toBeUndefined();
    // Only a header line counts, not the same words inside another header's value or the path.
    expect(rawAcceptLanguage(Buffer.from('GET /?accept-language:ja HTTP/1.1\r\nX: Accept-Language: ja\r\n'))).toBeUndefined();
  });
});
