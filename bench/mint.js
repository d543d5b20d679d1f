// Tokens per second through the whole finish step (policy, mint, wresult page) against
// raw jose SignJWT with the same key, in one process and one run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { loadConfig } from '../dist/src/config/load.js';
import { createService } from '../dist/src/service.js';
import { upstreamKinds } from '../dist/src/upstreams/registry.js';
import { finishSignIn } from '../dist/src/actions/finish.js';
import { signCompact } from '../dist/src/tokens/sign.js';
import { fmt, opsPerSecond } from './lib.js';

/** The little of a Koa context that the finish step touches. */
function fakeContext() {
  const headers = {};
  return {
    state: { requestId: 'bench' },
    ip: '127.0.0.1',
    get: () => '',
    set: (k, v) => (headers[k] = v),
    status: 0,
    type: '',
    body: '',
  };
}

/** CPU microseconds (every thread of the process: WebCrypto works on the thread pool) per call of fn, 4 calls in flight. */
async function cpuPerCall(fn, n = 3000) {
  for (let i = 0; i < 200; i++) await fn();
  const before = process.cpuUsage();
  let left = n;
  await Promise.all(Array.from({ length: 4 }, async () => { while (left-- > 0) await fn(); }));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'fedbridge-bench-'));
  const env = { HOST: '127.0.0.1', PORT: '8080', FEDBRIDGE_DATA: join(dir, 'data'), FEDBRIDGE_KEYS: join(dir, 'keys') };
  const config = loadConfig(undefined, env, { kinds: upstreamKinds });
  const service = await createService(config, { log: pino({ level: 'silent' }) });
  const { deps } = service;
  const tenant = config.tenants[0];
  try {
    const key = deps.keys.signingKey(Date.now());
    const raw = await opsPerSecond(() =>
      new SignJWT({ upn: 'alice@example.com', tid: 'demo' }).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).setIssuedAt().setExpirationTime('10m').sign(key.privateKey),
    );
    const claims = { upn: 'alice@example.com', tid: 'demo', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 };
    const header = { alg: key.alg, kid: key.kid, typ: 'JWT' };
    const joseCpu = await cpuPerCall(() => new SignJWT({ ...claims }).setProtectedHeader(header).sign(key.privateKey));
    const ownCpu = await cpuPerCall(async () => signCompact(key.alg, key.keyObject, header, claims));
    const now = Date.now();
    const tx = { state: 's', tenantId: tenant.id, appru: 'ms-app://windows.immersivecontrolpanel', loginHint: 'alice@example.com', client: { deviceidentifier: 'x' }, invitationId: null, upstream: {}, ip: '127.0.0.1', locale: 'en', createdAt: now, expiresAt: now + 60_000 };
    const identity = { subject: 'alice', upn: 'alice@example.com', email: 'alice@example.com', name: 'Alice', groups: [], amr: ['pwd'], authTime: Math.floor(now / 1000), idp: { kind: 'local', id: 'demo-local' } };
    let lastBody = '';
    const finish = await opsPerSecond(async () => {
      const ctx = fakeContext();
      await finishSignIn(ctx, deps, tx, tenant, identity);
      lastBody = ctx.body;
    });
    if (!lastBody.includes('name="wresult"')) throw new Error('finish step did not render the wresult page');
    const ratio = finish / raw;
    return {
      name: 'mint',
      ratio,
      lines: [
        `raw jose SignJWT (${key.alg})        ${fmt(raw)} tokens/s`,
        `finish step (policy+mint+page)   ${fmt(finish)} tokens/s`,
        `ratio                            ${ratio.toFixed(2)}`,
        `CPU per signature: jose SignJWT (WebCrypto) ${fmt(joseCpu)} µs, node:crypto sign (src/tokens/sign.ts, what mint uses) ${fmt(ownCpu)} µs: ${(ownCpu / joseCpu).toFixed(2)}×`,
      ],
    };
  } finally {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
