/**
 * The lean listener for exactly `POST /introspect` (src/http/fastpath.ts) against Koa alone, on the
 * same service: one hostile corpus goes, byte for byte, to a listener built like production's
 * (src/http/listen.ts, fast path in front of Koa) and to a listener that is Koa's own callback.
 * Every answer must match (status line, header names, order and values, body), as must the
 * access-log and refusal lines and the metrics; the fast path must really answer the exact route
 * (Koa's middleware never sees it) and leave every other spelling of it to Koa.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import Koa from 'koa';
import type { Context, Next } from 'koa';
import { startService, testConfigFile, type TestService } from '../helpers/service.js';
import { annMintInput, contosoTenant } from '../helpers/mint.js';
import { createLogger } from '../../src/log.js';
import { listen, onClientError } from '../../src/http/listen.js';
import { isFastPath } from '../../src/http/fastpath.js';
import { mintToken } from '../../src/tokens/mint.js';
import { buildEnrollEnvelope, buildGetPoliciesEnvelope } from '../../src/soap/build.js';

const SECRET = 'mdm-secret-0123456789abcdef';
const AUTH = `Basic ${Buffer.from(`mdm:${SECRET}`).toString('base64')}`;
const WRONG = `Basic ${Buffer.from('mdm:not-the-secret').toString('base64')}`;
const lines: string[] = [];
let svc: TestService;
let fast: Server;
let koaOnly: Server;
/** Paths Koa's middleware saw, per listener (a probe put first in the chain). */
const koaSaw: string[] = [];

beforeAll(async () => {
  svc = await startService({
    log: createLogger('info', { write: (s: string) => void lines.push(s) }),
    file: testConfigFile({
      // Behind one proxy: X-Forwarded-For names the client and X-Forwarded-Proto decides HSTS.
      server: { publicUrl: 'http://127.0.0.1:{{PORT}}', trustProxy: true },
      tokens: { ttlSeconds: 600, audience: 'urn:test:mdm' },
      enrollmentServers: [{ id: 'mdm', secret: SECRET }],
      tenants: [contosoTenant()],
    }),
  });
  const app = svc.service.app;
  app.middleware.unshift(async (ctx: Context, next: Next) => {
    koaSaw.push(`${ctx.method} ${ctx.url}`);
    await next();
  });
  // As production: src/http/listen.ts over app.callback() (the fast path in front of Koa).
  fast = await listen(app, 0, '127.0.0.1');
  // Koa alone: its own callback, the same middleware and routes, no fast path.
  koaOnly = createServer(Koa.prototype.callback.call(app));
  koaOnly.on('clientError', onClientError);
  await new Promise<void>((r) => koaOnly.listen(0, '127.0.0.1', () => r()));
});
afterAll(async () => {
  for (const s of [fast, koaOnly]) {
    s?.closeAllConnections();
    await new Promise((r) => s?.close(r));
  }
  await svc.close();
});

const port = (s: Server) => (s.address() as AddressInfo).port;

async function token(): Promise<string> {
  const now = svc.clock.now();
  const { token } = await mintToken(svc.service.deps.keys, annMintInput(now, { issuer: svc.config.server.publicUrl, audience: 'urn:test:mdm' }));
  return token;
}

interface Answer {
  statusLine: string;
  /** Header lines in order, as sent (names keep their case). */
  headers: Array<[string, string]>;
  body: string;
  /** 1xx answers before the final one. */
  interim: string[];
}

/** Sends raw bytes on a new connection and reads everything until the server closes it. */
function raw(server: Server, request: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port(server), '127.0.0.1', () => socket.write(request));
    socket.setTimeout(20_000, () => socket.destroy(new Error('no answer in time')));
    socket.on('data', (c) => chunks.push(c));
    // The server may close while a refused body is still being sent: what it answered counts.
    socket.on('error', (err) => (chunks.length ? undefined : reject(err)));
    socket.on('close', () => {
      let text = Buffer.concat(chunks).toString('utf8');
      const interim: string[] = [];
      for (;;) {
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return reject(new Error(`no complete answer: ${JSON.stringify(text.slice(0, 200))}`));
        const [statusLine, ...headerLines] = text.slice(0, end).split('\r\n');
        if (/^HTTP\/1\.1 1\d\d /.test(statusLine)) {
          interim.push(statusLine);
          text = text.slice(end + 4);
          continue;
        }
        const headers = headerLines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as [string, string]);
        return resolve({ statusLine, headers, body: text.slice(end + 4), interim });
      }
    });
  });
}

interface Req {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked, in pieces of this many bytes. */
  chunked?: number;
  /** The X-Request-Id to send instead of a fresh valid one. */
  requestId?: string;
}

function build(r: Req, requestId: string): Buffer {
  const head = [`${r.method ?? 'POST'} ${r.path ?? '/introspect'} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', `X-Request-Id: ${r.requestId ?? requestId}`];
  for (const [k, v] of Object.entries(r.headers ?? {})) head.push(`${k}: ${v}`);
  const body = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body);
  if (r.chunked) {
    head.push('Transfer-Encoding: chunked');
    const parts: Buffer[] = [Buffer.from(`${head.join('\r\n')}\r\n\r\n`)];
    for (let i = 0; i < body.length; i += r.chunked) {
      const piece = body.subarray(i, i + r.chunked);
      parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    return Buffer.concat(parts);
  }
  if (r.body !== undefined && !Object.keys(r.headers ?? {}).some((k) => k.toLowerCase() === 'content-length')) head.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), body]);
}

const withAuth = (headers: Record<string, string> = {}) => ({ Authorization: AUTH, ...headers });
const json = (o: unknown): Req => ({ headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify(o) });

/** The corpus: each case builds its request from a fresh token. */
const corpus: Array<[string, (t: string) => Req]> = [
  ['a raw token (JSON)', (t) => ({ headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: t }) })],
  ['a raw token (form)', (t) => ({ headers: withAuth({ 'Content-Type': 'application/x-www-form-urlencoded' }), body: new URLSearchParams({ token: t }).toString() })],
  ['a BST value (form)', (t) => ({ headers: withAuth({ 'Content-Type': 'application/x-www-form-urlencoded' }), body: new URLSearchParams({ token: Buffer.from(t).toString('base64') }).toString() })],
  ['a GetPolicies envelope (JSON)', (t) => ({ headers: withAuth({ 'Content-Type': 'application/json; charset=utf-8' }), body: JSON.stringify({ token: buildGetPoliciesEnvelope({ token: t }) }) })],
  ['an Enroll envelope (consumes)', (t) => ({ headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: buildEnrollEnvelope({ token: t, deviceId: 'DEV-1', additionalContext: { DeviceName: 'PC' } }) }) })],
  ['consume=true in a form', (t) => ({ headers: withAuth({ 'Content-Type': 'application/x-www-form-urlencoded' }), body: `token=${encodeURIComponent(t)}&consume=true` })],
  ['no Authorization', (t) => ({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: t }) })],
  ['a wrong secret', (t) => ({ headers: { Authorization: WRONG, 'Content-Type': 'application/json' }, body: JSON.stringify({ token: t }) })],
  ['a Bearer header', (t) => ({ headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ token: t }) })],
  ['Basic with no colon', (t) => ({ headers: { Authorization: `Basic ${Buffer.from('mdm').toString('base64')}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ token: t }) })],
  ['a declared body over 256 KiB', () => ({ headers: withAuth({ 'Content-Type': 'application/json', 'Content-Length': String(256 * 1024 + 1) }) })],
  ['a chunked body over 256 KiB', () => ({ headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: 'a'.repeat(256 * 1024) }), chunked: 16 * 1024 })],
  ['a chunked body', (t) => ({ headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: t }), chunked: 100 })],
  ['Expect: 100-continue', (t) => ({ headers: withAuth({ 'Content-Type': 'application/json', Expect: '100-continue' }), body: JSON.stringify({ token: t }) })],
  ['text/plain', (t) => ({ headers: withAuth({ 'Content-Type': 'text/plain' }), body: JSON.stringify({ token: t }) })],
  ['no Content-Type', (t) => ({ headers: withAuth(), body: JSON.stringify({ token: t }) })],
  ['a SOAP envelope as the body', (t) => ({ headers: withAuth({ 'Content-Type': 'application/soap+xml; charset=utf-8' }), body: buildGetPoliciesEnvelope({ token: t }) })],
  ['a JSON key given twice', (t) => ({ headers: withAuth({ 'Content-Type': 'application/json' }), body: `{"token":"x","tok\\u0065n":${JSON.stringify(t)}}` })],
  ['a form field given twice', (t) => ({ headers: withAuth({ 'Content-Type': 'application/x-www-form-urlencoded' }), body: `token=x&token=${encodeURIComponent(t)}` })],
  ['a JSON array', (t) => ({ headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify([t]) })],
  ['bad JSON', () => ({ headers: withAuth({ 'Content-Type': 'application/json' }), body: '{"token":' })],
  ['an empty JSON body', () => ({ headers: withAuth({ 'Content-Type': 'application/json' }), body: '  ' })],
  ['invalid UTF-8', () => ({ headers: withAuth({ 'Content-Type': 'application/json' }), body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) })],
  ['a token that is not a string', () => json({ token: 42 })],
  ['consume=maybe', (t) => json({ token: t, consume: 'maybe' })],
  ['garbage as the token', () => json({ token: 'not-a-token-<>&"' })],
  ['bad XML as the token', () => json({ token: '<s:Envelope><s:Body>' })],
  ['a tampered signature', (t) => json({ token: `${t.slice(0, -4)}AAAA` })],
  ['an invalid X-Request-Id', (t) => ({ ...json({ token: t }), requestId: 'bad id with spaces' })],
  ['behind the proxy over https', (t) => ({ headers: withAuth({ 'Content-Type': 'application/json', 'X-Forwarded-For': '203.0.113.9, 198.51.100.7', 'X-Forwarded-Proto': 'https' }), body: JSON.stringify({ token: t }) })],
];

/** Not the exact route: Koa answers these on both listeners. */
const variants: Array<[string, (t: string) => Req]> = [
  ['HEAD', () => ({ method: 'HEAD' })],
  ['GET', () => ({ method: 'GET' })],
  ['PUT', (t) => ({ method: 'PUT', ...json({ token: t }) })],
  ['OPTIONS', () => ({ method: 'OPTIONS' })],
  ['/introspect/', (t) => ({ path: '/introspect/', headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: t }) })],
  ['/INTROSPECT', (t) => ({ path: '/INTROSPECT', headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: t }) })],
  ['/introspect?x=1', (t) => ({ path: '/introspect?x=1', headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: t }) })],
  ['/introspect?', (t) => ({ path: '/introspect?', headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: t }) })],
  ['/introspect%2F', (t) => ({ path: '/introspect%2F', headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: t }) })],
  ['/introspec%74', (t) => ({ path: '/introspec%74', headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: t }) })],
  ['/introspect%00', (t) => ({ path: '/introspect%00', headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: t }) })],
  ['//introspect', (t) => ({ path: '//introspect', headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: t }) })],
  ['/introspect#frag', (t) => ({ path: '/introspect#frag', headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: t }) })],
  ['an absolute URL', (t) => ({ path: 'http://127.0.0.1/introspect', headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: t }) })],
  ['a long query string', (t) => ({ path: `/introspect?${'q'.repeat(5000)}`, headers: withAuth({ 'Content-Type': 'application/json' }), body: JSON.stringify({ token: t }) })],
];

const byCase = (name: string) => corpus.find(([c]) => c === name)![1];

let n = 0;
const rid = () => `fastpath-test-${String(++n).padStart(6, '0')}`; // one length: pages quote it
const logLines = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
/** The log lines of one request, without what differs by nature (time, request id, duration). */
function logsOf(requestId: string) {
  return logLines()
    .filter((l) => l.reqId === requestId)
    .map(({ time: _t, reqId: _r, ms, ...rest }): Record<string, unknown> => ({ ...rest, ms: typeof ms }));
}

/** What must be equal between the two listeners: everything but the date and the request id. */
function comparable(a: Answer, sentId: string, jti: string) {
  const id = a.headers.find(([k]) => k === 'X-Request-Id')?.[1];
  // A page (Koa's answers to the variants) carries the request id and a fresh CSP nonce.
  const same = (s: string) => (id ? s.replaceAll(id, 'REQUEST-ID') : s).replaceAll(jti, 'JTI').replace(/nonce(-|=")[A-Za-z0-9+/=]+/g, 'nonce$1NONCE');
  return {
    statusLine: a.statusLine,
    interim: a.interim,
    headers: a.headers.filter(([k]) => k !== 'Date').map(([k, v]) => [k, k === 'X-Request-Id' ? (v === sentId ? 'sent' : /^[0-9a-f-]{36}$/.test(v) ? 'uuid' : v) : same(v)]),
    body: same(a.body),
    requestIdPresent: Boolean(id),
  };
}
const jtiOf = (t: string) => (JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString()) as { jti: string }).jti;

/** Sends one case to both listeners (a fresh token each, so consuming cases start alike). */
async function both(make: (t: string) => Req) {
  const [t1, t2] = [await token(), await token()];
  const [id1, id2] = [rid(), rid()];
  const [r1, r2] = [make(t1), make(t2)];
  const k = await raw(koaOnly, build(r1, id1));
  const f = await raw(fast, build(r2, id2));
  return { k, f, ck: comparable(k, r1.requestId ?? id1, jtiOf(t1)), cf: comparable(f, r2.requestId ?? id2, jtiOf(t2)), id1, id2 };
}

describe('POST /introspect: the fast path answers as Koa does', () => {
  it('routes exactly POST /introspect to the fast path', () => {
    const req = (method: string, url: string) => ({ method, url }) as Parameters<typeof isFastPath>[0];
    expect(isFastPath(req('POST', '/introspect'))).toBe(true);
    for (const [m, u] of [['GET', '/introspect'], ['HEAD', '/introspect'], ['POST', '/introspect/'], ['POST', '/INTROSPECT'], ['POST', '/introspect?x=1'], ['POST', '/introspect%2F'], ['post', '/introspect']]) {
      expect(isFastPath(req(m, u))).toBe(false);
    }
  });

  for (const [name, make] of corpus) {
    it(`${name}: same answer, same log lines, Koa not involved`, async () => {
      const before = koaSaw.length;
      const { k, f, ck, cf } = await both(make);
      expect(cf).toEqual(ck);
      // Koa answered the Koa-only listener and nothing else: the fast path took the exact route.
      expect(koaSaw.slice(before)).toEqual(['POST /introspect']);
      // What the contract says about every /introspect answer (docs/enrollment-server.md, README).
      const h = new Map(f.headers.map(([key, v]) => [key.toLowerCase(), v]));
      expect(h.get('content-type')).toBe('application/json; charset=utf-8');
      expect(h.get('cache-control')).toBe('no-store');
      expect(h.get('x-content-type-options')).toBe('nosniff');
      expect(h.get('x-frame-options')).toBe('DENY');
      expect(h.get('referrer-policy')).toBe('no-referrer');
      expect(h.get('x-request-id')).toBeTruthy();
      expect(Number(h.get('content-length'))).toBe(Buffer.byteLength(f.body));
      const body = JSON.parse(f.body) as Record<string, unknown>;
      if (f.statusLine.startsWith('HTTP/1.1 200')) expect(typeof body.active).toBe('boolean');
      else expect(Object.keys(body)).toEqual(['error', 'error_description']);
      if (f.statusLine.startsWith('HTTP/1.1 401')) expect(h.get('www-authenticate')).toBe('Basic realm="fedbridge"');
      // The same log lines (access line, refusals) with the same fields, in the same order.
      const kl = logsOf(k.headers.find(([key]) => key === 'X-Request-Id')![1]);
      const fl = logsOf(f.headers.find(([key]) => key === 'X-Request-Id')![1]);
      expect(fl.map((l) => Object.keys(l))).toEqual(kl.map((l) => Object.keys(l)));
      expect(fl).toEqual(kl);
      expect(fl.some((l) => l.msg === 'request' && l.url === '/introspect' && l.method === 'POST')).toBe(true);
    });
  }

  it('the answers say what the corpus expects', async () => {
    const status = async (make: (t: string) => Req) => (await both(make)).f.statusLine;
    const byName = new Map(corpus);
    expect(await status(byName.get('a raw token (JSON)')!)).toBe('HTTP/1.1 200 OK');
    expect(await status(byName.get('no Authorization')!)).toBe('HTTP/1.1 401 Unauthorized');
    expect(await status(byName.get('a declared body over 256 KiB')!)).toBe('HTTP/1.1 413 Payload Too Large');
    expect(await status(byName.get('a chunked body over 256 KiB')!)).toBe('HTTP/1.1 413 Payload Too Large');
    expect(await status(byName.get('a JSON key given twice')!)).toBe('HTTP/1.1 400 Bad Request');
    const expect100 = await both(byName.get('Expect: 100-continue')!);
    expect(expect100.f.interim).toEqual(['HTTP/1.1 100 Continue']);
    expect(JSON.parse(expect100.f.body)).toMatchObject({ active: true, upn: 'ann@contoso.test', replay: 'fresh' });
    const enroll = await both(byName.get('an Enroll envelope (consumes)')!);
    expect(JSON.parse(enroll.f.body)).toMatchObject({ active: true, message: 'Enroll', deviceId: 'DEV-1', replay: 'consumed' });
    const proxied = await both(byName.get('behind the proxy over https')!);
    expect(proxied.f.headers).toContainEqual(['Strict-Transport-Security', 'max-age=31536000']);
    const access = logLines().find((l) => l.msg === 'request' && l.reqId === proxied.id2);
    expect(access?.ip).toBe('198.51.100.7'); // the one trusted proxy's entry, not the client's own
  });

  for (const [name, make] of variants) {
    it(`${name}: not the fast path, Koa answers on both listeners`, async () => {
      const before = koaSaw.length;
      const { ck, cf } = await both(make);
      expect(cf).toEqual(ck);
      expect(koaSaw.length - before).toBe(2);
    });
  }

  it('a lower-case method is refused by Node itself on both listeners (neither Koa nor the fast path)', async () => {
    const before = koaSaw.length;
    const { ck, cf } = await both((t) => ({ method: 'post', ...json({ token: t }) }));
    expect(cf).toEqual(ck);
    expect(cf.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(koaSaw.length).toBe(before);
  });

  it('a failure after the answer was under way: the same 500, Cache-Control once and in its place, no detail', async () => {
    // The refusal's audit event fails (once per listener): an internal error, after Cache-Control was set.
    const spy = vi.spyOn(svc.service.deps.audit, 'push').mockImplementation(() => {
      throw new Error('audit queue on fire at /var/lib/secret');
    });
    try {
      const { k, f, ck, cf } = await both(byCase('garbage as the token'));
      expect(cf).toEqual(ck);
      expect(f.statusLine).toBe('HTTP/1.1 500 Internal Server Error');
      expect(JSON.parse(f.body)).toEqual({ error: 'server_error', error_description: 'internal error' });
      expect(f.headers.filter(([name]) => name.toLowerCase() === 'cache-control')).toEqual([['Cache-Control', 'no-store']]);
      const failed = (a: Answer) => logLines().filter((l) => l.reqId === a.headers.find(([key]) => key === 'X-Request-Id')![1] && l.msg === 'request failed');
      expect(failed(f)).toHaveLength(1);
      expect(failed(f)[0]).toMatchObject({ code: 'server_error', status: 500, detail: 'audit queue on fire at /var/lib/secret' });
      expect(failed(k)[0]).toMatchObject({ code: 'server_error', status: 500, detail: 'audit queue on fire at /var/lib/secret' });
    } finally {
      spy.mockRestore();
    }
  });

  it('while draining, the answer closes its connection on both', async () => {
    svc.service.lifecycle.draining = true;
    try {
      const { ck, cf } = await both(corpus[0][1]);
      expect(cf).toEqual(ck);
      expect(cf.headers).toContainEqual(['Connection', 'close']);
      // Set by the drain gate, before the security headers (as Koa's middleware order has it).
      const names = cf.headers.map(([k]) => k);
      expect(names.indexOf('Connection')).toBeLessThan(names.indexOf('X-Content-Type-Options'));
    } finally {
      svc.service.lifecycle.draining = false;
    }
  });

  it('counts each answer once in the metrics, under the route and status Koa would use', async () => {
    const count = async (status: string) => {
      const m = await svc.service.deps.metrics.registry.getSingleMetric('fedbridge_http_request_duration_seconds')!.get();
      return m.values.find((v) => (v as { metricName?: string }).metricName === 'fedbridge_http_request_duration_seconds_count' && v.labels.route === '/introspect' && v.labels.method === 'POST' && v.labels.status === status)?.value ?? 0;
    };
    const introspections = async () => {
      const m = await svc.service.deps.metrics.registry.getSingleMetric('fedbridge_introspections_total')!.get();
      return m.values.find((v) => v.labels.result === 'active')?.value ?? 0;
    };
    const [ok0, unauth0, active0] = [await count('200'), await count('401'), await introspections()];
    await raw(fast, build(corpus[0][1](await token()), rid()));
    await raw(fast, build(corpus[6][1](await token()), rid()));
    expect(await count('200')).toBe(ok0 + 1);
    expect(await count('401')).toBe(unauth0 + 1);
    expect(await introspections()).toBe(active0 + 1);
  });
});
