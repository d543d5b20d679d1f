/**
 * Attacks on the lean POST /introspect listener (src/http/fastpath.ts) over raw sockets:
 * request smuggling (Content-Length with Transfer-Encoding, two Content-Lengths, obs-fold),
 * a refused request's unread body posing as a second request on a kept-alive connection,
 * pipelining, a slow body, and a drain that starts while a request is under way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { startService, testConfigFile, type TestService } from '../helpers/service.js';
import { contosoTenant } from '../helpers/mint.js';
import { listen } from '../../src/http/listen.js';

const SECRET = 'attack-mdm-secret-0123456789abcdef';
const AUTH = `Basic ${Buffer.from(`mdm:${SECRET}`).toString('base64')}`;
const ADMIN = 'attack-admin-token-0123456789abcdef';
let svc: TestService;
let slow: Server;
/** The app on a listener made after the probe (Koa composes its chain when the listener is made). */
let fast: Server;
/** Paths Koa saw (a probe first in its chain): the fast path must hand nothing smuggled to it. */
const koaSaw: string[] = [];

beforeAll(async () => {
  svc = await startService({
    file: testConfigFile({
      enrollmentServers: [{ id: 'mdm', secret: SECRET }],
      admin: { token: ADMIN },
      tenants: [contosoTenant()],
    }),
  });
  svc.service.app.middleware.unshift(async (ctx, next) => {
    koaSaw.push(`${ctx.method} ${ctx.path}`);
    await next();
  });
  fast = await listen(svc.service.app, 0, '127.0.0.1');
  // The same app on a listener with short limits, for the slow-client cases.
  slow = await listen(svc.service.app, 0, '127.0.0.1', { headersMs: 1000, requestMs: 2000, checkEveryMs: 200 });
}, 60_000);
afterAll(async () => {
  for (const s of [slow, fast]) {
    s?.closeAllConnections();
    await new Promise((r) => s?.close(r));
  }
  await svc?.close();
});

const portOf = () => (fast.address() as AddressInfo).port;

/** Sends bytes (all at once, or in parts with pauses) and reads until the server closes or `ms` pass. */
function exchange(parts: Array<string | Buffer>, opts: { port?: number; pauseMs?: number; readMs?: number; between?: (i: number) => void } = {}): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket: Socket = connect(opts.port ?? portOf(), '127.0.0.1', async () => {
      for (let i = 0; i < parts.length; i++) {
        if (i > 0 && opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
        opts.between?.(i);
        if (!socket.destroyed) socket.write(parts[i]);
      }
    });
    const done = () => resolve(Buffer.concat(chunks).toString('latin1'));
    const timer = setTimeout(() => {
      socket.destroy();
    }, opts.readMs ?? 3000);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      done();
    });
  });
}

const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

const introspect = (body: string, extra: string[] = []) =>
  ['POST /introspect HTTP/1.1', 'Host: 127.0.0.1', `Authorization: ${AUTH}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, ...extra, '', body].join('\r\n');

/** A request the attacker wants answered with the admin token it does not have. */
const SMUGGLED = `GET /admin/api/v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Smuggled: 1\r\n\r\n`;

describe('request smuggling through POST /introspect', () => {
  it('Content-Length with Transfer-Encoding is one 400 and the connection closes; nothing else is answered', async () => {
    const before = koaSaw.length;
    const text = await exchange([
      ['POST /introspect HTTP/1.1', 'Host: 127.0.0.1', `Authorization: ${AUTH}`, 'Content-Type: application/json', 'Content-Length: 5', 'Transfer-Encoding: chunked', '', '0', '', SMUGGLED].join('\r\n'),
    ]);
    expect(statuses(text)).toEqual([400]);
    expect(koaSaw.slice(before)).toEqual([]);
  });

  it('two different Content-Length headers are one 400', async () => {
    const before = koaSaw.length;
    const body = '{"token":"x"}';
    const text = await exchange([
      ['POST /introspect HTTP/1.1', 'Host: 127.0.0.1', `Authorization: ${AUTH}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Content-Length: 0', '', body + SMUGGLED].join('\r\n'),
    ]);
    expect(statuses(text)).toEqual([400]);
    expect(koaSaw.slice(before)).toEqual([]);
  });

  it('an obs-folded Transfer-Encoding or Content-Length is one 400', async () => {
    for (const folded of ['Transfer-Encoding: identity\r\n chunked', 'Content-Length: 0\r\n 5']) {
      const before = koaSaw.length;
      const text = await exchange([['POST /introspect HTTP/1.1', 'Host: 127.0.0.1', `Authorization: ${AUTH}`, 'Content-Type: application/json', folded, '', '0', '', SMUGGLED].join('\r\n')]);
      expect(statuses(text), folded).toEqual([400]);
      expect(koaSaw.slice(before), folded).toEqual([]);
    }
  });

  it('Transfer-Encoding other than chunked (gzip, chunked twice, " chunked") is refused, not read to the end of the connection', async () => {
    for (const te of ['gzip', 'chunked, chunked', 'chunked, gzip', 'xchunked']) {
      const before = koaSaw.length;
      const text = await exchange([['POST /introspect HTTP/1.1', 'Host: 127.0.0.1', `Authorization: ${AUTH}`, 'Content-Type: application/json', `Transfer-Encoding: ${te}`, '', '0', '', SMUGGLED].join('\r\n')]);
      const got = statuses(text);
      // Never the smuggled admin request answered (it would be a 401 from Koa's admin route).
      expect(got.length, te).toBeLessThanOrEqual(1);
      if (got.length) expect(got[0], te).toBeGreaterThanOrEqual(400);
      expect(koaSaw.slice(before).filter((p) => p.startsWith('GET /admin')), te).toEqual([]);
    }
  });
});

describe('chunk framing abuse', () => {
  it('an endless chunk extension is refused (not read for ever), and nothing after it is answered', async () => {
    const before = koaSaw.length;
    const head = ['POST /introspect HTTP/1.1', 'Host: 127.0.0.1', `Authorization: ${AUTH}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked', '', ''].join('\r\n');
    const text = await exchange([head, `5;${'x'.repeat(256 * 1024)}`, `\r\nhello\r\n0\r\n\r\n${SMUGGLED}`], { pauseMs: 50, readMs: 5000 });
    const got = statuses(text);
    expect(got).toHaveLength(1);
    expect(got[0]).toBeGreaterThanOrEqual(400);
    expect(koaSaw.slice(before).filter((p) => p.startsWith('GET /admin'))).toEqual([]);
  });

  it('a chunk size that overflows, or is not hex, is one 400', async () => {
    for (const size of ['fffffffffffffffff', '-1', '0x5', '5 5']) {
      const text = await exchange([['POST /introspect HTTP/1.1', 'Host: 127.0.0.1', `Authorization: ${AUTH}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked', '', `${size}`, 'hello', '0', '', SMUGGLED].join('\r\n')]);
      expect(statuses(text), size).toEqual([400]);
    }
  });
});

describe('kept-alive connections', () => {
  it('a refused introspection’s unread body is not read as a second request', async () => {
    const before = koaSaw.length;
    // No Authorization: refused before the body is read; the body holds a request.
    const evil = ['POST /introspect HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: application/json', `Content-Length: ${SMUGGLED.length}`, '', SMUGGLED].join('\r\n');
    const health = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
    const text = await exchange([evil + health]);
    expect(statuses(text)).toEqual([401, 200]);
    expect(koaSaw.slice(before)).toEqual(['GET /healthz']);
    expect(text).not.toContain('X-Smuggled');
  });

  it('a declared body over the limit ends the exchange cleanly: the bytes that follow are not a request', async () => {
    const before = koaSaw.length;
    const big = 256 * 1024 + 10;
    const head = ['POST /introspect HTTP/1.1', 'Host: 127.0.0.1', `Authorization: ${AUTH}`, 'Content-Type: application/json', `Content-Length: ${big}`, '', ''].join('\r\n');
    const body = Buffer.alloc(big, 0x20);
    SMUGGLED.split('').forEach((c, i) => (body[i] = c.charCodeAt(0)));
    const text = await exchange([head, body], { readMs: 5000 });
    expect(statuses(text)[0]).toBe(413);
    expect(koaSaw.slice(before).filter((p) => p.startsWith('GET /admin'))).toEqual([]);
  });

  it('pipelined introspections are answered in order, each once', async () => {
    const bad = introspect('{"token":"not-a-token"}');
    const broken = introspect('{"token":');
    const last = introspect('{"token":"x"}', ['Connection: close']);
    const text = await exchange([bad + broken + bad + last]);
    expect(statuses(text)).toEqual([200, 400, 200, 200]);
  });

  it('HEAD /introspect and an absolute-form target are not answered by the fast path with a token answer', async () => {
    const head = await exchange([`HEAD /introspect HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`]);
    expect(statuses(head)).toHaveLength(1);
    expect(head).not.toContain('"active"');
    const before = koaSaw.length;
    const absolute = await exchange([introspect('{"token":"x"}', ['Connection: close']).replace('POST /introspect', 'POST http://127.0.0.1/introspect')]);
    // Koa answers it (the same route, not the lean path).
    expect(koaSaw.slice(before)).toEqual(['POST /introspect']);
    expect(statuses(absolute)).toEqual([200]);
  });
});

describe('slow clients and drain', () => {
  it('a body that never finishes is cut with 408 by the request timeout', async () => {
    const head = ['POST /introspect HTTP/1.1', 'Host: 127.0.0.1', `Authorization: ${AUTH}`, 'Content-Type: application/json', 'Content-Length: 100', '', '{"tok'].join('\r\n');
    const text = await exchange([head], { port: (slow.address() as AddressInfo).port, readMs: 15_000 });
    expect(statuses(text)).toEqual([408]);
  }, 30_000);

  it('headers trickled one byte at a time are cut (slowloris)', async () => {
    const parts = 'POST /introspect HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '.split('').concat(Array(200).fill('a'));
    const text = await exchange(parts, { port: (slow.address() as AddressInfo).port, pauseMs: 50, readMs: 15_000 });
    expect(statuses(text)).toEqual([408]);
  }, 30_000);

  it('a drain that starts while the body is on its way closes that connection after the answer', async () => {
    const body = '{"token":"x"}';
    const head = ['POST /introspect HTTP/1.1', 'Host: 127.0.0.1', `Authorization: ${AUTH}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, '', ''].join('\r\n');
    try {
      const text = await exchange([head, body, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'], {
        pauseMs: 300,
        readMs: 5000,
        between: (i) => {
          if (i === 1) svc.service.lifecycle.draining = true;
        },
      });
      expect(statuses(text)[0]).toBe(200);
      expect(text).toMatch(/\r\nConnection: close\r\n/i);
      // The connection was closed after the answer: the later request got nothing.
      expect(statuses(text)).toHaveLength(1);
    } finally {
      svc.service.lifecycle.draining = false;
    }
  }, 30_000);
});
