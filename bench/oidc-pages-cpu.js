// CPU time Fedbridge spends per complete oidc sign-in, against the CPU time of the upstream
// node-oidc-provider for the same sign-ins when the IdP serves its own login AND consent pages
// (a fresh IdP session per window, as the load suite drives it: test/load/). Beside
// bench/oidc-cpu.js, whose IdP does the protocol work and a login page only. Each side runs in
// its own child process and reports process.cpuUsage() over IPC; the parent plays the device
// window over HTTP. Aim: Fedbridge <= 1/4 of the IdP. The machine is shared, so the figure is
// the median of ROUNDS batches. Then a fresh Fedbridge child under `node --cpu-prof` signs in
// once more: its top frames by self time per sign-in, from the samples of those sign-ins only.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deviceSignIn, fmt, forkChild, freePort } from './lib.js';

const SIGN_INS = Number(process.env.OIDC_PAGES_BENCH_SIGNINS ?? 200);
const ROUNDS = Number(process.env.OIDC_PAGES_BENCH_ROUNDS ?? 3);
const WARM_UP = 40;
const CONCURRENCY = 4;
const TOP = 10;
const SECRET = 'bench-client-secret-0123456789';
const APPRU = 'ms-app://windows.immersivecontrolpanel';

function startRole(role, opts, execArgv = []) {
  const { child, ready } = forkChild('./oidc-pages-cpu.child.js', [role, JSON.stringify(opts)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    name: role,
    execArgv,
  });
  child.stderr.setEncoding('utf8').on('data', (text) => {
    const lines = text.split('\n').filter((l) => l && !/^oidc-provider (WARNING|NOTICE)/.test(l));
    if (lines.length) process.stderr.write(`${lines.join('\n')}\n`);
  });
  return ready.then((r) => ({
    ...r,
    /** Sends `msg` and resolves to the first answer carrying `key`. */
    ask: (msg, key) =>
      new Promise((resolve) => {
        const on = (m) => {
          if (m && key in m) {
            child.off('message', on);
            resolve(m[key]);
          }
        };
        child.on('message', on);
        child.send(msg);
      }),
  }));
}

async function many(fedUrl, n) {
  let next = 0;
  const pages = [];
  const worker = async () => {
    while (next < n) {
      const i = next++;
      pages.push(await deviceSignIn(fedUrl, `user${i % 50}@bench.example`, { appru: APPRU }));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return pages;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Self time per frame (function, file, line) of a .cpuprofile, counting samples taken in [from, to] µs. */
function selfTimes(profile, from, to) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Map();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    const f = byId.get(profile.samples[i]).callFrame;
    const where = f.url ? `${f.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    out.set(key, (out.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  return [...out].map(([frame, us]) => ({ frame, us }));
}

export async function run() {
  const [idpPort, fedPort, floorPort] = [await freePort(), await freePort(), await freePort()];
  const fedUrl = `http://127.0.0.1:${fedPort}`;
  const floorUrl = `http://127.0.0.1:${floorPort}`;
  const idp = await startRole('idp', { port: idpPort, secret: SECRET, redirectUris: [`${fedUrl}/callback/oidc`, `${floorUrl}/callback/oidc`] });
  let fed;
  let floor;
  const rounds = [];
  const floorRounds = [];
  let top = [];
  let pagesPerSignIn = 0;
  try {
    fed = await startRole('fedbridge', { port: fedPort, secret: SECRET, issuer: `http://127.0.0.1:${idpPort}` });
    floor = await startRole('floor', { port: floorPort, secret: SECRET, issuer: `http://127.0.0.1:${idpPort}` });
    pagesPerSignIn = median(await many(fedUrl, WARM_UP));
    await many(floorUrl, WARM_UP);
    /** One batch of sign-ins through `broker`: its CPU and the IdP's per sign-in. */
    const batch = async (broker, url) => {
      const [b0, idp0] = [await broker.cpu(), await idp.cpu()];
      const start = performance.now();
      await many(url, SIGN_INS);
      const secs = (performance.now() - start) / 1000;
      const [brokerUs, idpUs] = [(await broker.cpu()) - b0, (await idp.cpu()) - idp0];
      return { perSecond: SIGN_INS / secs, fedMs: brokerUs / SIGN_INS / 1000, idpMs: idpUs / SIGN_INS / 1000, ratio: brokerUs / idpUs };
    };
    // Fedbridge and the floor broker in the same rounds, each against the IdP's CPU of its own batch.
    for (let r = 0; r < ROUNDS; r++) {
      rounds.push(await batch(fed, fedUrl));
      floorRounds.push(await batch(floor, floorUrl));
    }
    await floor.stop();
    floor = null;
    // A fresh Fedbridge under --cpu-prof (the profiler's own cost is in it: not used for the ratio).
    await fed.stop();
    fed = null;
    const profDir = mkdtempSync(join(tmpdir(), 'fedbridge-bench-prof-'));
    let frames;
    let profCpuMs = 0;
    try {
      const prof = await startRole('fedbridge', { port: fedPort, secret: SECRET, issuer: `http://127.0.0.1:${idpPort}` }, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
      await many(fedUrl, WARM_UP);
      const [from, cpu0] = [await prof.ask('mark', 'mark'), await prof.cpu()];
      await many(fedUrl, SIGN_INS);
      const [to, cpu1] = [await prof.ask('mark', 'mark'), await prof.cpu()];
      profCpuMs = (cpu1 - cpu0) / SIGN_INS / 1000;
      await prof.stop(); // the profile is written at exit
      const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      frames = selfTimes(JSON.parse(readFileSync(join(profDir, file), 'utf8')), from, to);
    } finally {
      rmSync(profDir, { recursive: true, force: true });
    }
    const busy = frames.filter((f) => f.frame !== '(idle)');
    const total = busy.reduce((a, f) => a + f.us, 0);
    top = busy
      .sort((a, b) => b.us - a.us)
      .slice(0, TOP)
      // Samples are wall time on the JS thread (on a loaded machine that includes time the OS
      // ran something else): each frame's share of the samples times the CPU per sign-in.
      .map((f) => ({ ...f, share: f.us / total, msPerSignIn: (f.us / total) * profCpuMs }));
  } finally {
    await fed?.stop();
    await floor?.stop();
    await idp.stop();
  }
  const mid = rounds.find((r) => r.ratio === median(rounds.map((x) => x.ratio)));
  const floorMid = floorRounds.find((r) => r.ratio === median(floorRounds.map((x) => x.ratio)));
  // Each broker's CPU against the IdP's CPU of its own batch, compared within a round: the IdP's
  // cost per sign-in moves between rounds more than the brokers' do.
  const overFloor = median(rounds.map((r, i) => r.ratio / floorRounds[i].ratio));
  return {
    name: 'oidc sign-in CPU, IdP serving its own login and consent pages (Fedbridge vs oidc-provider)',
    ratio: mid.ratio,
    floorRatio: floorMid.ratio,
    lines: [
      `CPU (user+system) per complete sign-in, ${CONCURRENCY} at a time, ${SIGN_INS} sign-ins per round, median of ${ROUNDS} rounds; IdP pages per sign-in: ${pagesPerSignIn}`,
      `rounds (ratio): ${rounds.map((r) => r.ratio.toFixed(3)).join(', ')}`,
      `IdP ${fmt(mid.idpMs)} ms   Fedbridge ${fmt(mid.fedMs)} ms   ratio ${mid.ratio.toFixed(3)}   (${fmt(mid.perSecond)} sign-ins/s wall)`,
      `aim: ratio <= 0.25`,
      `floor broker (bare node:http, no framework or OIDC library; bench/oidc-pages-cpu.child.js startFloor), same rounds: ${floorRounds.map((r) => r.ratio.toFixed(3)).join(', ')}`,
      `  IdP ${fmt(floorMid.idpMs)} ms   floor ${fmt(floorMid.fedMs)} ms   ratio ${floorMid.ratio.toFixed(3)}   Fedbridge / floor ${overFloor.toFixed(2)} (median over rounds of the two ratios' quotient)`,
      `Fedbridge's top frames by self time (node --cpu-prof, ${SIGN_INS} more sign-ins):`,
      ...top.map((f) => `  ${fmt(f.msPerSignIn).padStart(6)} ms/sign-in ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.frame}`),
    ],
  };
}

// `node bench/oidc-pages-cpu.js` runs it alone.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await run();
  console.log(`## ${r.name}\n${r.lines.map((l) => `  ${l}`).join('\n')}`);
}
