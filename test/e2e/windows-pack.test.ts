/**
 * Issue #9: fedbridge/verify as an MDM vendor installs it. `npm pack` of this package (compiled
 * JavaScript and .d.ts), installed into a fresh consumer project, verifies a GetPolicies and an
 * Enroll envelope of the Windows corpus from ESM and from CommonJS (through import()), with the
 * SQLite store and with Redis for the replay rule.
 *
 * Offline on purpose: dependencies come from npm's cache (--prefer-offline), install scripts do
 * not run, and better-sqlite3's native addon is copied from this checkout (same version checked).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importJWK, SignJWT } from 'jose';
import { ENVELOPES, materialize } from '../fixtures/windows/corpus.js';
import { AUDIENCE, ISSUER, TENANT, UPN, fedbridgeJwks, fixtureKeys } from '../verify/helpers.js';
import { makeCsrBase64 } from '../../src/cli/simulate/csr.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
let dir: string;
let consumer: string;
let redis: TestRedis;
let packedFiles: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedbridge-pack-'));
  // A fresh build: the tarball must carry today's code. tsc emits even when files of work in
  // progress elsewhere in src/ do not type-check (npm test's own tsc run reports those).
  await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT }).catch(() => undefined);
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 16 << 20 });
  const info = JSON.parse(stdout)[0] as { filename: string; files: { path: string }[] };
  packedFiles = info.files.map((f) => f.path);
  consumer = join(dir, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'mdm-consumer', version: '1.0.0', private: true }));
  await run('npm', ['install', join(dir, info.filename), '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: consumer, maxBuffer: 16 << 20 });
  const ours = join(ROOT, 'node_modules/better-sqlite3');
  const theirs = join(consumer, 'node_modules/better-sqlite3');
  const version = (d: string) => JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).version;
  if (version(ours) !== version(theirs)) throw new Error('better-sqlite3 versions differ: cannot reuse the native addon');
  cpSync(join(ours, 'build/Release/better_sqlite3.node'), join(theirs, 'build/Release/better_sqlite3.node'), { recursive: true });
  redis = await startRedis();
}, 240_000);

afterAll(async () => {
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function token(jti: string): Promise<string> {
  const jwk = fixtureKeys.fedbridge;
  // A replay store refuses tokens issued before it first opened (store epochs, fail closed when
  // a store forgets); the consumer opens a new store a moment after this signs, so iat is set a
  // few seconds ahead, well within fedbridge/verify's 30 s clock tolerance.
  const now = Math.floor(Date.now() / 1000) + 5;
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 's', upn: UPN, tid: TENANT, iat: now, nbf: now, exp: now + 600, jti })
    .setProtectedHeader({ alg: jwk.alg!, kid: jwk.kid, typ: 'JWT' })
    .sign(await importJWK(jwk, jwk.alg));
}

// The consumer's code, as an MDM would write it: verify GetPolicies, then Enroll, then a retry
// (GetPolicies + the same Enroll), then another device's Enroll (refused with a SOAP fault).
const BODY = `
  const input = JSON.parse(process.env.CASE);
  const store = input.store === 'sqlite' ? await v.sqliteReplayStore(input.path) : await v.redisReplayStore(input.redis);
  const opts = { issuer: input.issuer, keys: input.jwks, audience: input.audience, store };
  const out = [];
  for (const xml of [input.gp, input.enroll, input.gp, input.enroll, input.other]) {
    const r = await v.verifyEnrollmentRequest(xml, opts);
    out.push(r.ok ? { ok: true, message: r.message, deviceId: r.deviceId, replay: r.replay, upn: r.upn }
                  : { ok: false, error: r.error, status: r.faultStatus, fault: r.fault({ activityId: 'mdm-1' }) });
  }
  await store.close();
  process.stdout.write(JSON.stringify(out));
`;
const ESM = `import * as v from 'fedbridge/verify';\n${BODY}`;
const CJS = `(async () => { const v = await import('fedbridge/verify');\n${BODY}\n})().catch((e) => { console.error(e); process.exit(1); });`;

describe('the packed fedbridge/verify in a fresh consumer project', () => {
  it('the tarball holds compiled JavaScript and declarations, no sources or tests', () => {
    expect(packedFiles).toContain('dist/src/verify/index.js');
    expect(packedFiles).toContain('dist/src/verify/index.d.ts');
    expect(packedFiles.some((f) => f.startsWith('test/') || f.startsWith('src/') || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toBe(false);
  });

  it.each([
    ['ESM', 'sqlite', 'check.mjs'],
    ['ESM', 'redis', 'check.mjs'],
    ['CommonJS (import())', 'sqlite', 'check.cjs'],
    ['CommonJS (import())', 'redis', 'check.cjs'],
  ])('%s with the %s store: GetPolicies, Enroll, retry, another device refused', async (_kind, store, file) => {
    writeFileSync(join(consumer, 'check.mjs'), ESM);
    writeFileSync(join(consumer, 'check.cjs'), CJS);
    const t = await token(`pack-${store}-${file}`);
    const csr = makeCsrBase64('pack');
    const gp = materialize(ENVELOPES.find((e) => e.file === 'getpolicies-ms-sample.xml')!.file, t, csr);
    const enroll = materialize('enroll-win10-19043.xml', t, csr);
    const other = materialize('enroll-fleet.xml', t, csr);
    const CASE = JSON.stringify({ store, path: join(dir, `${file}.db`), redis: redis.url, issuer: ISSUER, audience: AUDIENCE, jwks: fedbridgeJwks, gp, enroll, other });
    const { stdout } = await run('node', [file], { cwd: consumer, env: { ...process.env, CASE } });
    const out = JSON.parse(stdout);
    expect(out.slice(0, 4)).toEqual([
      { ok: true, message: 'GetPolicies', deviceId: null, replay: 'fresh', upn: UPN },
      { ok: true, message: 'Enroll', deviceId: 'A41C0F7E93B2485DA6E1F05C3B8D9274', replay: 'consumed', upn: UPN },
      { ok: true, message: 'GetPolicies', deviceId: null, replay: 'retry', upn: UPN },
      { ok: true, message: 'Enroll', deviceId: 'A41C0F7E93B2485DA6E1F05C3B8D9274', replay: 'retry', upn: UPN },
    ]);
    expect(out[4]).toMatchObject({ ok: false, error: 'replayed', status: 500 });
    expect(out[4].fault).toContain('mdm-1');
    expect(existsSync(join(consumer, 'node_modules/fedbridge/dist/src/verify/index.d.ts'))).toBe(true);
  });
});
