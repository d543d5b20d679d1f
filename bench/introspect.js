// /introspect requests per second against a bare node:http server doing the same jwtVerify.
import { fmt, measureLoad as measure, startChild } from './lib.js';


export async function run() {
  const fed = await startChild('fedbridge');
  const base = await startChild('baseline');
  const koa = await startChild('koa');
  const old = await startChild('fedbridge-oldlog');
  const auth = `Basic ${Buffer.from('demo:fedbridge-demo').toString('base64')}`;
  const fedReq = () => ({ headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ token: fed.token }) });
  const oldReq = () => ({ headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ token: old.token }) });
  const koaReq = () => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: koa.token }) });
  const baseReq = () => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: base.token }) });
  const rounds = [];
  const ROUNDS = Number(process.env.INTROSPECT_BENCH_ROUNDS ?? 11);
  try {
    // Alternate A/B rounds so a noisy moment hurts both sides alike; the ratios below are the
    // medians of the per-round ratios (each against the bare server of its own round).
    for (let i = 0; i < ROUNDS; i++) {
      rounds.push({
        base: await measure(base, `http://127.0.0.1:${base.port}/`, baseReq),
        koa: await measure(koa, `http://127.0.0.1:${koa.port}/`, koaReq),
        fed: await measure(fed, `http://127.0.0.1:${fed.port}/introspect`, fedReq),
        old: await measure(old, `http://127.0.0.1:${old.port}/introspect`, oldReq),
      });
    }
  } finally {
    await fed.stop();
    await base.stop();
    await koa.stop();
    await old.stop();
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const med = (k, f) => median(rounds.map((r) => r[k][f]));
  /** Median over rounds of (k / bare) in the same round. */
  const rel = (k, f) => median(rounds.map((r) => r[k][f] / r.base[f]));
  const ratio = rel('fed', 'rps');
  const cpuRatio = rel('fed', 'perCpuSecond');
  return {
    name: 'introspect',
    ratio,
    lines: [
      `medians of ${ROUNDS} alternating rounds (16 connections, 3 s each); ratios are per-round ratios against the bare server`,
      `                             req/s (wall)   req per server CPU-second`,
      `bare node:http + jwtVerify   ${fmt(med('base', 'rps')).padStart(12)}   ${fmt(med('base', 'perCpuSecond')).padStart(12)}`,
      `koa + router + same verify   ${fmt(med('koa', 'rps')).padStart(12)}   ${fmt(med('koa', 'perCpuSecond')).padStart(12)}   (framework floor: ${rel('koa', 'perCpuSecond').toFixed(2)} per CPU)`,
      `fedbridge, log before #11    ${fmt(med('old', 'rps')).padStart(12)}   ${fmt(med('old', 'perCpuSecond')).padStart(12)}   (one stdout write per line, all lines redacted)`,
      `fedbridge POST /introspect   ${fmt(med('fed', 'rps')).padStart(12)}   ${fmt(med('fed', 'perCpuSecond')).padStart(12)}   (as shipped: the lean listener, src/http/fastpath.ts; both log every request at info)`,
      `ratio before #11 / bare      ${rel('old', 'rps').toFixed(2).padStart(12)}   ${rel('old', 'perCpuSecond').toFixed(2).padStart(12)}`,
      `ratio fedbridge / bare       ${ratio.toFixed(2).padStart(12)}   ${cpuRatio.toFixed(2).padStart(12)}   (aim >= 0.85)`,
      `per-round fedbridge / bare, per CPU: ${rounds.map((r) => (r.fed.perCpuSecond / r.base.perCpuSecond).toFixed(2)).join(' ')}`,
      // Cores each server used under the same 16 connections (median round): below 1 means it
      // waited (the load generator, the thread pool doing WebCrypto, or other processes).
      `cores used: bare ${median(rounds.map((r) => r.base.cores)).toFixed(2)}, koa ${median(rounds.map((r) => r.koa.cores)).toFixed(2)}, fedbridge ${median(rounds.map((r) => r.fed.cores)).toFixed(2)}`,
    ],
  };
}
