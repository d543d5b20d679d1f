// The local kind (Fedbridge's own password page, scrypt with the parameters password.ts writes): CPU per complete
// sign-in and password sign-ins per second per core at saturation, and what bounds them.
// Fedbridge runs in its own child (bench/servers.js, demo config, rate limits off); the parent
// keeps CONCURRENCY sign-ins in flight (more than the hashing queue runs at once, fewer than
// it lets wait) and reads the child's CPU time before and after. One scrypt hash with the same
// parameters is timed alone in this process, for comparison: the hash is the bound.
// scrypt's cost is a security setting (docs): reported here, never lowered for speed.
import { randomBytes, scryptSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { fmt, startChild } from './lib.js';
import { hashPasswordSync } from '../dist/src/upstreams/local/password.js';

/** scrypt's parameters as Fedbridge writes them (scrypt$N$r$p$salt$hash), read from a fresh hash: never restated here. */
const [, N, R, P] = hashPasswordSync('bench').split('$').map(Number);

const SIGN_INS = Number(process.env.PASSWORD_BENCH_SIGNINS ?? 120);
const WARM_UP = 6;
const CONCURRENCY = 6;
const APPRU = 'ms-app://windows.immersivecontrolpanel';
const USER = 'alice@example.com';
const PASSWORD = 'fedbridge-demo';

async function signIn(base) {
  const page = await fetch(`${base}/auth?${new URLSearchParams({ appru: APPRU, login_hint: USER })}`);
  const html = await page.text();
  const state = /name="state" value="([^"]*)"/.exec(html)?.[1];
  if (!state) throw new Error(`no password page: ${page.status}`);
  const res = await fetch(`${base}/auth/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ state, username: USER, password: PASSWORD }),
  });
  const done = await res.text();
  if (!done.includes('name="wresult"')) throw new Error(`sign-in failed: ${res.status} ${/<code>([^<]*)/.exec(done)?.[1]}`);
}

async function many(base, n) {
  let next = 0;
  const worker = async () => {
    while (next++ < n) await signIn(base);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** CPU ms of one scrypt hash with the local kind's parameters (src/upstreams/local/password.ts). */
function scryptMs() {
  const salt = randomBytes(16);
  const opts = { N, r: R, p: P, maxmem: 2 * 128 * N * R }; // scrypt needs 128·N·r bytes
  scryptSync('warm-up', salt, 32, opts);
  const before = process.cpuUsage();
  for (let i = 0; i < 10; i++) scryptSync(PASSWORD, salt, 32, opts);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 10 / 1000;
}

export async function run() {
  const hashMs = scryptMs();
  const fed = await startChild('fedbridge');
  const base = `http://127.0.0.1:${fed.port}`;
  let r;
  try {
    await many(base, WARM_UP);
    const cpu0 = await fed.cpu();
    const start = performance.now();
    await many(base, SIGN_INS);
    const secs = (performance.now() - start) / 1000;
    const cpuSecs = ((await fed.cpu()) - cpu0) / 1e6;
    r = { perSecond: SIGN_INS / secs, cpuMs: (cpuSecs * 1000) / SIGN_INS, perCore: SIGN_INS / cpuSecs };
  } finally {
    await fed.stop();
  }
  return {
    name: 'local (password) sign-in CPU and throughput at saturation',
    ratio: r.perCore,
    lines: [
      `${SIGN_INS} sign-ins (password page + POST), ${CONCURRENCY} at a time, demo service, log at info`,
      `CPU per sign-in                  ${fmt(r.cpuMs)} ms   (one scrypt N=${N} r=${R} p=${P} alone: ${fmt(hashMs)} ms, measured in the parent)`,
      `sign-ins per CPU-second          ${fmt(r.perCore)}   (= password sign-ins per second per core at saturation)`,
      `sign-ins per second (wall)       ${fmt(r.perSecond)}   (hashing queue: at most 2 hashes at once, so at most 2 cores)`,
      `bound: the scrypt hash (a security setting, not lowered); the rest of the sign-in: ${r.cpuMs - hashMs < 0.05 * r.cpuMs ? 'within measurement noise' : `${fmt(r.cpuMs - hashMs)} ms`}`,
    ],
  };
}

// `node bench/password-cpu.js` runs it alone (after `npm run build`).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await run();
  console.log(`## ${r.name}\n${r.lines.map((l) => `  ${l}`).join('\n')}`);
}
