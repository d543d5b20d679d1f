/**
 * Graceful stop of the compiled command (src/observability/drain.ts): SIGTERM during a slow
 * request turns readiness false at once, lets that request finish, closes the store, writes
 * out the buffered log and exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/service.js';
import { buildPrivatePackage } from '../helpers/private-package.js';

let PKG: string;

beforeAll(async () => {
  PKG = await buildPrivatePackage('fedbridge-drain-');
}, 120_000);
afterAll(() => rmSync(PKG, { recursive: true, force: true }));

interface Running {
  child: ChildProcess;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function serve(cwd: string, port: number): Promise<Running> {
  const child = spawn(process.execPath, [join(PKG, 'bin', 'fedbridge.js'), 'serve'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), FEDBRIDGE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
  // Ready when it answers (the listening log line may sit in the log buffer for up to a second).
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) return { child, out: () => out, exited };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`serve did not start: ${err}`);
}

const AUTH = `Basic ${Buffer.from('demo:fedbridge-demo').toString('base64')}`;
const BODY = JSON.stringify({ token: 'not-a-token-at-all' });

/** A POST /introspect sent on a raw socket, its body held back: a request in flight. */
function slowIntrospect(port: number): Promise<{ socket: Socket; finish: () => Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        `POST /introspect HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: ${AUTH}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY.slice(0, 10)}`,
      );
      let answer = '';
      socket.setEncoding('utf8').on('data', (c) => (answer += c));
      const ended = new Promise<string>((r) => socket.on('close', () => r(answer)));
      resolve({
        socket,
        finish: async () => {
          socket.write(BODY.slice(10));
          return ended;
        },
      });
    });
    socket.on('error', reject);
  });
}

describe('SIGTERM drains (node bin/fedbridge.js serve, demo mode)', () => {
  it('readiness 503 at once, the slow request in flight still answered, store closed, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedbridge-drain-run-'));
    try {
      const port = await freePort();
      const run = await serve(dir, port);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

      const slow = await slowIntrospect(port);
      await new Promise((r) => setTimeout(r, 100)); // the headers have reached the service
      const t0 = Date.now();
      run.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 150));

      // Readiness is false at once (the listener is still open while load balancers notice).
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.headers.get('retry-after')).toBe('1');
      expect(ready.headers.get('connection')).toBe('close');
      expect(ready.headers.get('x-request-id')).toBeTruthy();
      expect(ready.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await ready.json()).toMatchObject({ error: 'not_ready' });
      expect(run.child.exitCode).toBeNull(); // still running: the request is in flight

      // The request in flight completes after the signal and gets its full answer.
      await new Promise((r) => setTimeout(r, 300));
      const answer = await slow.finish();
      expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(answer).toMatch(/\r\nconnection: close\r\n/i);
      expect(answer).toContain('"active":false');

      const { code } = await run.exited;
      expect(code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
      // Once stopped, nothing listens.
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();

      // The buffered log was written out at exit, in order: every request, then the store closed.
      const lines = run.out().trim().split('\n').map((l) => JSON.parse(l) as { msg: string; url?: string; status?: number });
      const msgs = lines.map((l) => l.msg);
      expect(msgs).toContain('shutting down');
      expect(msgs.at(-1)).toBe('drained: store closed');
      const requests = lines.filter((l) => l.msg === 'request').map((l) => `${l.url} ${l.status}`);
      expect(requests).toContain('/readyz 200');
      expect(requests).toContain('/readyz 503');
      expect(requests).toContain('/introspect 200');
      // SQLite closed cleanly: the write-ahead log was checkpointed and removed.
      expect(existsSync(join(dir, 'data', 'fedbridge.db'))).toBe(true);
      expect(existsSync(join(dir, 'data', 'fedbridge.db-wal'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('an uncaught exception is logged as fatal and the buffered lines before it are not lost', async () => {
    // The shipped logger, as serve() sets it up, in a process that then crashes.
    const script = join(PKG, 'crash.mjs');
    writeFileSync(
      script,
      `import { createLogger, exitOnFatal } from './dist/src/log.js';
const log = createLogger('info');
exitOnFatal(log);
for (let i = 0; i < 50; i++) log.info({ i }, 'before the crash');
setTimeout(() => { throw new Error('boom'); }, 10);
`,
    );
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [script], { cwd: PKG, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(r.code).toBe(1);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: number; err?: { message: string } });
    expect(lines.filter((l) => l.msg === 'before the crash')).toHaveLength(50);
    const last = lines.at(-1)!;
    expect(last.level).toBe(60);
    expect(last.msg).toBe('uncaught exception');
    expect(last.err?.message).toBe('boom');
  });
});
