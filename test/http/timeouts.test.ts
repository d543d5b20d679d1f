/**
 * Slow clients are cut off as the README says (issue #7, finding 9). The mechanism is
 * tested, not the wall clock: the limits configured on the server object, and, with small
 * limits injected, a client that sends its headers (or its body) slowly is answered 408 and
 * disconnected soon after its limit, not when Node's default 30 s check comes round.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { listen, SERVER_TIMEOUTS } from '../../src/http/listen.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

/** A tiny app that reads the whole body before answering (as the form and XML routes do). */
function app(): Koa {
  const a = new Koa();
  a.silent = true; // the cut request's body stream ends in 'aborted': expected here
  a.use(async (ctx) => {
    let n = 0;
    for await (const c of ctx.req) n += (c as Buffer).length;
    ctx.body = `read ${n}`;
  });
  return a;
}

async function start(timeouts: Parameters<typeof listen>[3] = {}): Promise<{ server: Server; port: number }> {
  const server = await listen(app(), 0, '127.0.0.1', timeouts);
  servers.push(server);
  return { server, port: (server.address() as AddressInfo).port };
}

interface Cut {
  /** What the server sent before closing. */
  answer: string;
  /** Milliseconds from connect to close. */
  ms: number;
}

/**
 * Connects, sends `first`, then one `drip` every `everyMs` until the server closes the
 * connection; gives up (null) after `deadlineMs`, so a missing cut fails fast instead of hanging.
 */
function dribble(port: number, first: string, drip: string, everyMs: number, deadlineMs: number): Promise<Cut | null> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let answer = '';
    const socket: Socket = connect(port, '127.0.0.1', () => {
      socket.write(first);
    });
    const tick = setInterval(() => {
      if (socket.writable) socket.write(drip);
    }, everyMs);
    const give = setTimeout(() => {
      clearInterval(tick);
      socket.destroy();
      resolve(null);
    }, deadlineMs);
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(tick);
      clearTimeout(give);
      resolve({ answer, ms: Date.now() - t0 });
    });
  });
}

describe('server timeouts', () => {
  it('a Fedbridge listener has the documented limits, checked every second', async () => {
    const { server } = await start();
    expect({
      headersTimeout: server.headersTimeout,
      requestTimeout: server.requestTimeout,
      connectionsCheckingInterval: (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval,
      keepAliveTimeout: server.keepAliveTimeout,
      timeout: server.timeout,
    }).toEqual({
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      connectionsCheckingInterval: 1_000,
      keepAliveTimeout: 5_000,
      timeout: 30_000,
    });
    expect(SERVER_TIMEOUTS).toMatchObject({ headersMs: 10_000, requestMs: 30_000, checkEveryMs: 1_000 });
  });

  it('the README states the limits the listener has', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
    expect(readme).toContain(`${SERVER_TIMEOUTS.headersMs / 1000} s for the request line and headers`);
    expect(readme).toContain(`${SERVER_TIMEOUTS.requestMs / 1000} s for the whole request`);
    expect(readme).toContain(`${SERVER_TIMEOUTS.idleMs / 1000} s without any traffic`);
    expect(readme).toContain(`checked every ${SERVER_TIMEOUTS.checkEveryMs / 1000} s`);
  });

  it('a client that still works with small limits gets its answer (the limits cut only slow ones)', async () => {
    const { port } = await start({ headersMs: 400, requestMs: 800, checkEveryMs: 50 });
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'hello' });
    expect(await res.text()).toBe('read 5');
  });

  it('slowloris: headers sent one line at a time are cut at the headers limit with a 408 page', async () => {
    const { port } = await start({ headersMs: 400, requestMs: 5_000, checkEveryMs: 50, idleMs: 5_000 });
    // A new header line every 100 ms keeps the socket busy (no idle timeout) but never ends the headers.
    const cut = await dribble(port, 'GET / HTTP/1.1\r\nHost: a\r\n', 'X-Slow: 1\r\n', 100, 3_000);
    expect(cut, 'the connection was still open after 3 s').not.toBeNull();
    expect(cut!.answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(cut!.answer).toContain('Cache-Control: no-store');
    expect(cut!.ms).toBeGreaterThanOrEqual(400);
    expect(cut!.ms).toBeLessThan(1_500);
  });

  it('a body sent a byte at a time is cut at the request limit with a 408 page', async () => {
    const { port } = await start({ headersMs: 300, requestMs: 700, checkEveryMs: 50, idleMs: 5_000 });
    const head = 'POST / HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n';
    const cut = await dribble(port, head, 'x', 100, 3_000);
    expect(cut, 'the connection was still open after 3 s').not.toBeNull();
    expect(cut!.answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(cut!.answer).not.toContain('read ');
    expect(cut!.ms).toBeGreaterThanOrEqual(700);
    expect(cut!.ms).toBeLessThan(1_800);
  });

  it('a connection that sends nothing is closed at the headers limit', async () => {
    const { port } = await start({ headersMs: 300, requestMs: 700, checkEveryMs: 50, idleMs: 5_000 });
    const cut = await dribble(port, '', '', 1_000_000, 3_000);
    expect(cut, 'the connection was still open after 3 s').not.toBeNull();
    expect(cut!.ms).toBeGreaterThanOrEqual(300);
    expect(cut!.ms).toBeLessThan(1_300);
  });

  it('a client that sends its request and then stops reading is dropped after the idle limit', async () => {
    const a = new Koa();
    a.silent = true;
    // A large answer fills the socket buffers of a client that does not read it.
    a.use((ctx) => {
      ctx.body = Buffer.alloc(64 * 1024 * 1024, 0x61);
    });
    const server = await listen(a, 0, '127.0.0.1', { headersMs: 300, requestMs: 700, checkEveryMs: 50, idleMs: 500 });
    servers.push(server);
    const port = (server.address() as AddressInfo).port;
    const closed = await new Promise<number | null>((resolve) => {
      const t0 = Date.now();
      const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
      socket.pause();
      const give = setTimeout(() => {
        socket.destroy();
        resolve(null);
      }, 3_000);
      socket.on('error', () => {});
      server.once('connection', (s) => s.once('close', () => {
        clearTimeout(give);
        socket.destroy();
        resolve(Date.now() - t0);
      }));
    });
    expect(closed, 'the server still held the connection after 3 s').not.toBeNull();
    expect(closed!).toBeGreaterThanOrEqual(500);
  });
});
