/**
 * Soak (issue #11): steady sign-ins and Enrolls for 20 minutes (short: 1) against two
 * instances sharing Redis; samples the process RSS (both instances, the IdP and the client
 * share this process) and the store size (DBSIZE, INFO memory), and reports both slopes after
 * warm-up. Tokens live 60 s here so that markers and transactions expire within the run.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AUDIENCE, SHORT, enroll, report, serverSteps, sleep, slopePerMinute, startRig, storeSize, summarize, verifyAll, window, type Outcome, type Rig } from './harness.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig({ extra: { tokens: { ttlSeconds: 60, audience: AUDIENCE } } });
});
afterAll(async () => {
  await rig?.close();
});

it(`soak: ${SHORT ? 1 : 20} min of steady sign-ins; RSS and store size slopes after warm-up`, async () => {
  const minutes = SHORT ? 1 : 20;
  const durationMs = minutes * 60_000;
  // Full: past the token ttl plus the marker grace (60 + 300 s), when expiry balances new keys.
  const warmupMs = SHORT ? 20_000 : 8 * 60_000;
  const sampleEveryMs = SHORT ? 2_000 : 10_000;
  const concurrency = 4;
  const t0 = Date.now();
  const deadline = t0 + durationMs;
  const outs: Outcome[] = [];
  const enrolls: Record<string, number> = {};
  let started = 0;
  const badNow: string[] = [];
  const jtis: string[] = [];
  const samples: { t: number; rss: number; heap: number; keys: number; redisMem: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    for (let i = 0; sampling && i < 10_000; i++) {
      const s = await storeSize(rig.redis.port);
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      samples.push({ t: Date.now() - t0, rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20, keys: s.keys, redisMem: s.usedMemory / 2 ** 20 });
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
  const slope = (k: 'rss' | 'heap' | 'keys' | 'redisMem') => Math.round(slopePerMinute(after.map((x) => ({ t: x.t, v: x[k] }))) * 100) / 100;
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
    slopesPerMinute: { rssMiB: slope('rss'), heapMiB: slope('heap'), storeKeys: slope('keys'), redisUsedMiB: slope('redisMem') },
    atWarmup: first && { rssMiB: Math.round(first.rss), keys: first.keys, redisMiB: Math.round(first.redisMem * 10) / 10 },
    atEnd: last && { rssMiB: Math.round(last.rss), keys: last.keys, redisMiB: Math.round(last.redisMem * 10) / 10 },
  });
  expect(after.length).toBeGreaterThan(5);
  expect(s.ok).toBe(s.windows);
  expect(enrolls).toEqual({ 'active consumed': s.ok });
  expect(duplicates).toBe(0);
  expect(badNow).toEqual([]);
});
