/** fedbridge/verify as a package: remote JWKS caching, and no server-only imports. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyEnrollmentRequest } from '../../src/verify/index.js';
import { AUDIENCE, ISSUER, T0, fedbridgeJwks, fixture } from './helpers.js';

describe('remote JWKS', () => {
  let server: Server;
  let url: string;
  let fetches = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(fedbridgeJwks));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('is fetched once and reused across calls (string or URL)', async () => {
    const now = () => (T0 + 60) * 1000;
    for (const jwks of [url, new URL(url), url]) {
      const r = await verifyEnrollmentRequest(fixture('getpolicies.xml'), { issuer: ISSUER, jwks, audience: AUDIENCE, now });
      expect(r).toMatchObject({ ok: true });
    }
    expect(fetches).toBe(1);
  });
});

describe('import graph of src/verify/index.ts', () => {
  it('reaches no server-only module (koa, SQLite, Redis, pino)', () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/verify/index.ts');
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      // Type-only imports vanish at compile time and cost nothing at run time.
      for (const m of src.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        else packages.add(spec);
      }
    };
    visit(root);
    for (const banned of ['koa', '@koa/router', '@koa/bodyparser', 'better-sqlite3', 'ioredis', 'pino', 'eta']) {
      expect([...packages]).not.toContain(banned);
    }
    expect(packages).toContain('jose');
    expect(seen.size).toBeGreaterThan(5);
    expect([...packages].every((p) => p === 'jose' || p === '@xmldom/xmldom' || p.startsWith('node:'))).toBe(true);
  });
});
