// Issue #7, finding 6: does a burst of wrong passwords stall everyone else?
// Fedbridge (demo, default limits, trustProxy) gets 300 concurrent wrong passwords, each from
// its own address (X-Forwarded-For on loopback) for its own user name, so no rate limit stops
// them: every one reaches the password hash. Measured meanwhile: /introspect latency (one
// request at a time, as an MDM server asks) and a legitimate user's whole sign-in
// (/auth + /auth/password, from her own address). Against the same figures on a quiet service,
// and against the same burst without the hashing queue (every scrypt straight onto libuv's
// default 4 threads, as before).
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { forkChild } from './lib.js';

const BURST = 300;
const APPRU = 'ms-app://windows.immersivecontrolpanel';
const AUTH = `Basic ${Buffer.from('demo:fedbridge-demo').toString('base64')}`;
const dispatcher = new Agent({ connections: BURST + 50, pipelining: 1 });

async function http(url, { method = 'GET', headers = {}, body } = {}) {
  const res = await request(url, { method, headers, body, dispatcher });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const stateOf = (html) => /name="state"[^>]*value="([^"]*)"/.exec(html)?.[1] ?? /value="([^"]*)"[^>]*name="state"/.exec(html)?.[1];
const form = (fields) => new URLSearchParams(fields).toString();
const FORM = 'application/x-www-form-urlencoded';

async function startState(base, user, ip) {
  const r = await http(`${base}/auth?${form({ appru: APPRU, login_hint: user })}`, { headers: { 'x-forwarded-for': ip } });
  const state = stateOf(r.text);
  if (!state) throw new Error(`no state (status ${r.status})`);
  return state;
}

const postPassword = (base, state, username, password, ip) =>
  http(`${base}/auth/password`, { method: 'POST', headers: { 'content-type': FORM, 'x-forwarded-for': ip }, body: form({ state, username, password }) });

/** A legitimate sign-in, start to token; retries after Retry-After when refused as busy. */
async function signIn(base, ip, user = 'alice@example.com') {
  const t0 = performance.now();
  const state = await startState(base, user, ip);
  let r = await postPassword(base, state, user, 'fedbridge-demo', ip);
  let busy = 0;
  while (r.status === 503 && busy < 10) {
    busy++;
    await new Promise((res) => setTimeout(res, Number(r.headers['retry-after'] ?? 1) * 1000));
    r = await postPassword(base, state, user, 'fedbridge-demo', ip);
  }
  const token = /name="wresult"[^>]*value="([^"]*)"/.exec(r.text)?.[1];
  if (!token) throw new Error(`legitimate sign-in failed: ${r.status}`);
  return { ms: performance.now() - t0, busy, token: token.replace(/&quot;/g, '"').replace(/&amp;/g, '&') };
}

async function introspectOnce(base, token) {
  const t0 = performance.now();
  const r = await http(`${base}/introspect`, { method: 'POST', headers: { authorization: AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  if (r.status !== 200 || !r.text.includes('"active":true')) throw new Error(`introspect: ${r.status} ${r.text.slice(0, 100)}`);
  return performance.now() - t0;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const ms = (x) => `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`;

/** One service (fresh child): quiet figures, then the burst with measurements alongside. */
async function scenario(mode, poolSize) {
  // The child inherits our environment at fork (our own pool is long started: no effect here).
  const saved = process.env.UV_THREADPOOL_SIZE;
  if (poolSize) process.env.UV_THREADPOOL_SIZE = String(poolSize);
  else delete process.env.UV_THREADPOOL_SIZE;
  const { ready } = forkChild('./password-burst.child.js', [mode], { name: `fedbridge (${mode})` });
  if (saved === undefined) delete process.env.UV_THREADPOOL_SIZE;
  else process.env.UV_THREADPOOL_SIZE = saved;
  const svc = await ready;
  const base = `http://127.0.0.1:${svc.port}`;
  try {
    // Quiet: warm up, then 200 introspections one at a time and 10 sign-ins.
    const { token } = await signIn(base, '192.0.2.10');
    for (let i = 0; i < 50; i++) await introspectOnce(base, token);
    const quietIntro = [];
    for (let i = 0; i < 200; i++) quietIntro.push(await introspectOnce(base, token));
    const quietSignIn = [];
    for (let i = 0; i < 10; i++) quietSignIn.push((await signIn(base, '192.0.2.10')).ms);

    // The burst: 300 sign-ins opened first (not measured), then all 300 wrong passwords at once.
    const guesses = await Promise.all(
      Array.from({ length: BURST }, async (_, i) => {
        const ip = `10.${(i >> 8) & 255}.${i & 255}.${1 + (i % 200)}`;
        const user = `guess${i}@example.com`;
        return { ip, user, state: await startState(base, user, ip) };
      }),
    );
    let burstDone = false;
    const t0 = performance.now();
    const burst = Promise.all(guesses.map((g) => postPassword(base, g.state, g.user, 'wrong-password', g.ip))).then((rs) => {
      burstDone = true;
      return { rs, ms: performance.now() - t0 };
    });
    const introDuring = [];
    const introLoop = (async () => {
      while (!burstDone) introDuring.push(await introspectOnce(base, token));
    })();
    // Two legitimate users start shortly after the burst: Alice where she signed in before
    // (a familiar address), Bob for the first time.
    await new Promise((r) => setTimeout(r, 20));
    const [legit, first] = await Promise.all([signIn(base, '192.0.2.10'), signIn(base, '198.51.100.77', 'bob@example.com')]);
    const b = await burst;
    await introLoop;
    const by = (s) => b.rs.filter((r) => r.status === s).length;
    return {
      mode,
      pool: svc.pool,
      queue: mode === 'bounded' ? `${svc.queue.concurrency} running, ${svc.queue.maxWaiting} waiting` : 'none',
      quietIntro,
      quietSignIn,
      introDuring,
      legit,
      first,
      burstMs: b.ms,
      wrong: by(401),
      busy: by(503),
      other: b.rs.length - by(401) - by(503),
    };
  } finally {
    await svc.stop();
  }
}

const busyNote = (x) => (x.busy ? ` (${x.busy} x 503, retried after Retry-After)` : '');

export async function run() {
  const before = await scenario('unbounded', null);
  const after = await scenario('bounded', 6); // what bin/fedbridge.js sets
  const row = (label, r) => [
    `${label}: thread pool ${r.pool}, hashing queue ${r.queue}`,
    `  /introspect quiet         p50 ${ms(pct(r.quietIntro, 50)).padStart(7)}   p99 ${ms(pct(r.quietIntro, 99)).padStart(7)}   (${r.quietIntro.length} requests)`,
    `  /introspect during burst  p50 ${ms(pct(r.introDuring, 50)).padStart(7)}   p99 ${ms(pct(r.introDuring, 99)).padStart(7)}   max ${ms(Math.max(...r.introDuring))}   (${r.introDuring.length} requests)`,
    `  legitimate sign-in        quiet p50 ${ms(pct(r.quietSignIn, 50))}; during burst: returning user ${ms(r.legit.ms)}${busyNote(r.legit)}, first-time user ${ms(r.first.ms)}${busyNote(r.first)}`,
    `  burst of ${BURST}: answered in ${ms(r.burstMs)}; ${r.wrong} x 401 (hashed), ${r.busy} x 503 server_busy${r.other ? `, ${r.other} other` : ''}`,
  ];
  const ratio = pct(after.introDuring, 99) / pct(after.quietIntro, 99);
  return {
    name: `password burst (${BURST} concurrent wrong passwords from ${BURST} addresses)`,
    ratio,
    lines: [...row('before (no queue)', before), ...row('after (as shipped)', after), `/introspect p99 during burst / quiet (after): ${ratio.toFixed(1)}`],
  };
}

// `node bench/password-burst.js` runs it alone (after `npm run build`).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await run();
  console.log(`## ${r.name}\n${r.lines.map((l) => `  ${l}`).join('\n')}`);
  await dispatcher.close();
}
