/** The compiled command as a child process: what `npx fedbridge` runs after `npm install`. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyPassword } from '../../src/upstreams/local/password.js';
import { freePort } from '../helpers/service.js';
import { buildPrivatePackage } from '../helpers/private-package.js';

/** A private copy of the package: the shared dist/ is left alone (benchmarks and other runs read it). */
let PKG: string;
let BIN: string;

beforeAll(async () => {
  PKG = await buildPrivatePackage('fedbridge-pkg-');
  BIN = join(PKG, 'bin', 'fedbridge.js');
}, 120_000);
afterAll(() => rmSync(PKG, { recursive: true, force: true }));

function node(
  args: string[],
  opts: { stdin?: string; env?: Record<string, string>; cwd?: string; until?: RegExp; then?: () => Promise<unknown> } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? PKG,
      env: { PATH: process.env.PATH ?? '', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let stopping = false;
    const watch = () => {
      // A long-running command: once its output matches, ask it to stop like an operator would.
      if (opts.until && !stopping && opts.until.test(out + err)) {
        stopping = true;
        void (opts.then?.() ?? Promise.resolve()).finally(() => child.kill('SIGTERM'));
      }
    };
    child.stdout.on('data', (c) => ((out += c), watch()));
    child.stderr.on('data', (c) => ((err += c), watch()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out, err }));
    child.stdin.end(opts.stdin ?? '');
  });
}

describe('node bin/fedbridge.js (compiled)', () => {
  it('--help prints the usage and exits 0', async () => {
    const r = await node(['--help']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^usage: fedbridge/);
    expect(r.err).toBe('');
  });

  it('user hash-password reads a piped password and prints only a hash that verifies', async () => {
    const r = await node(['user', 'hash-password'], { stdin: 's3cret pw\n' });
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^scrypt\$\S+\n$/);
    expect(await verifyPassword('s3cret pw', r.out.trimEnd())).toBe(true);
  });

  it('config check of a broken file exits 1 with every path on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedbridge-bin-'));
    try {
      const file = join(dir, 'fedbridge.yaml');
      writeFileSync(file, 'server: { publicUrl: "http://auth.example.com" }\nlimits: { authPerIP: 5 }\n');
      const r = await node(['config', 'check'], { env: { FEDBRIDGE_CONFIG: file } });
      expect(r.code).toBe(1);
      expect(r.err).toContain('server.publicUrl: must use https://');
      expect(r.err).toContain('limits.authPerIP: unknown key');
      expect(r.out).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serve in demo mode refuses a non-loopback HOST (exit 1, the reason on stderr)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedbridge-bin-'));
    try {
      const r = await node(['serve'], { cwd: dir, env: { HOST: '0.0.0.0', PORT: String(await freePort()) } });
      expect(r.code).toBe(1);
      expect(r.err).toContain('HOST: demo mode only listens on a loopback address');
      expect(existsSync(join(dir, 'keys'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serve in demo mode starts on PORT with the banner and stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedbridge-bin-'));
    try {
      const port = await freePort();
      let health = 0;
      const r = await node(['serve'], {
        cwd: dir,
        env: { PORT: String(port), FEDBRIDGE_LOG_LEVEL: 'info' },
        until: /fedbridge listening/,
        // One request first: it is answered only after serve() has wired its signal handlers.
        then: async () => (health = (await fetch(`http://127.0.0.1:${port}/healthz`)).status),
      });
      expect(health).toBe(200);
      expect(r.err).toContain('DEMO MODE');
      expect(r.out).toContain(`"url":"http://127.0.0.1:${port}"`);
      expect(r.out).toContain('"signal":"SIGTERM","msg":"shutting down"');
      expect(r.code, r.err).toBe(0);
      expect(existsSync(join(dir, 'keys'))).toBe(true);
      expect(existsSync(join(dir, 'data', 'fedbridge.db'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
