/**
 * Soak (issue #11): steady sign-ins and Enrolls for 20 minutes (short: 1) against two
 * instances sharing Redis. The instances are child processes (`fedbridge serve`), so the RSS
 * sampled (/proc/<pid>/status VmRSS of each) is Fedbridge's alone, not the IdP's, the client's
 * or the harness's; with the store size (DBSIZE, INFO memory) both slopes are reported after
 * warm-up. Tokens live 60 s here so that markers and transactions expire within the run.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AUDIENCE, SHORT, enroll, report, serverSteps, sleep, slopePerMinute, startRig, storeSize, summarize, verifyAll, window, type Outcome, type Rig } from './harness.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig({ children: true, idpChild: true, extra: { tokens: { ttlSeconds: 60, audience: AUDIENCE } } });
});
afterAll(async () => {
  await rig?.close();
});

// FEDBRIDGE_SOAK_MINUTES runs another length (warm-up: 8 min, or 40 % of a shorter run).
const MINUTES = Number(process.env.FEDBRIDGE_SOAK_MINUTES) || (SHORT ? 1 : 20);

it(`soak: ${MINUTES} min of steady sign-ins; RSS of each instance process and store size slopes after warm-up`, async () => {
  const minutes = MINUTES;
  const durationMs = minutes * 60_000;
  // Full: past the token ttl plus the marker grace (60 + 300 s), when expiry balances new keys.
  const warmupMs = SHORT && !process.env.FEDBRIDGE_SOAK_MINUTES ? 20_000 : Math.min(8 * 60_000, 0.4 * durationMs);
  const sampleEveryMs = SHORT ? 2_000 : 10_000;
  const concurrency = 4;
  const t0 = Date.now();
  const deadline = t0 + durationMs;
  const outs: Outcome[] = [];
  const enrolls: Record<string, number> = {};
  let started = 0;
  const badNow: string[] = [];
  const jtis: string[] = [];
  const { A, B } = rig.children!;
  const samples: { t: number; rssA: number; rssB: number; keys: number; redisMem: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    for (let i = 0; sampling && i < 10_000; i++) {
      const s = await storeSize(rig.redis.port);
      samples.push({ t: Date.now() - t0, rssA: A.rssMiB(), rssB: B.rssMiB(), keys: s.keys, redisMem: s.usedMemory / 2 ** 20 });
      await sleep(sampleEveryMs);
    }
  })();
  const worker = async () => {
    while (Date.now() < deadline && started < 1_000_000) {
      const i = started++;
      const o = await window(rig, { start: i % 2 ? 'B' : 'A', finish: i % 2 ? 'A' : 'B', user: i, timeoutMs: 30_000 });
      outs.push(o);
      if (o.kind === 'token') {
        // Verified at once: the 60 s tokens of the first minutes have expired by the end.
        const v = await verifyAll(rig, [o.token], i % 2 ? 'A' : 'B');
        if (v.bad) badNow.push(o.token.slice(-12));
        jtis.push(...v.jtis);
        const r = await enroll(i % 2 ? rig.urls.B : rig.urls.A, o.token, `soak-${i}`);
        const k = r.status === 200 ? (r.json.active ? `active ${r.json.replay}` : `refused ${r.json.error}`) : `${r.status}`;
        enrolls[k] = (enrolls[k] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  sampling = false;
  await sampler;

  const s = summarize(outs);
  const duplicates = jtis.length - new Set(jtis).size;
  const after = samples.filter((x) => x.t >= warmupMs);
  const slope = (k: 'rssA' | 'rssB' | 'keys' | 'redisMem') => Math.round(slopePerMinute(after.map((x) => ({ t: x.t, v: x[k] }))) * 100) / 100;
  const first = after[0];
  const last = samples.at(-1);
  report(`soak ${minutes} min, concurrency ${concurrency}`, {
    windows: s.windows,
    ok: s.ok,
    perSecond: Math.round((s.ok / (durationMs / 1000)) * 10) / 10,
    p50: s.p50,
    p99: s.p99,
    pages: s.pages,
    errors: s.errors,
    enrolls,
    duplicates,
    verifyFails: badNow.length,
    server: serverSteps(rig.log.since(t0)),
    warmupSeconds: warmupMs / 1000,
    samplesAfterWarmup: after.length,
    instances: { A: { pid: A.pid }, B: { pid: B.pid } },
    slopesPerMinute: { rssMiB: { A: slope('rssA'), B: slope('rssB') }, storeKeys: slope('keys'), redisUsedMiB: slope('redisMem') },
    atWarmup: first && { rssMiB: { A: Math.round(first.rssA), B: Math.round(first.rssB) }, keys: first.keys, redisMiB: Math.round(first.redisMem * 10) / 10 },
    atEnd: last && { rssMiB: { A: Math.round(last.rssA), B: Math.round(last.rssB) }, keys: last.keys, redisMiB: Math.round(last.redisMem * 10) / 10 },
  });
  expect(after.length).toBeGreaterThan(5);
  expect(s.ok).toBe(s.windows);
  expect(enrolls).toEqual({ 'active consumed': s.ok });
  expect(duplicates).toBe(0);
  expect(badNow).toEqual([]);
});
