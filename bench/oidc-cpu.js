// CPU time Fedbridge spends per complete oidc sign-in, against the CPU time the upstream
// IdP (node-oidc-provider) spends on the same sign-ins, in one run. Each side runs in its
// own child process and reports process.cpuUsage() over IPC before and after; the parent
// plays the device window over HTTP. Aim: Fedbridge <= 1/4 of the IdP.
// Two rounds: the IdP doing protocol work only (the strict comparison), then the IdP also
// checking the password against an scrypt hash, as real IdPs do.
import { fileURLToPath } from 'node:url';
import { deviceSignIn, fmt, forkChild, freePort } from './lib.js';

const SIGN_INS = Number(process.env.OIDC_BENCH_SIGNINS ?? 400);
/** scrypt costs tens of ms per sign-in: fewer are enough. */
const HASHED_SIGN_INS = Math.max(20, Math.round(SIGN_INS / 8));
const WARM_UP = 30;
const CONCURRENCY = 4;
const SECRET = 'bench-client-secret-0123456789';
const APPRU = 'ms-app://windows.immersivecontrolpanel';

function startRole(role, opts) {
  const { child, ready } = forkChild('./oidc-cpu.child.js', [role, JSON.stringify(opts)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    name: role,
  });
  // oidc-provider's start-up advice (dev adapter, Node version) is not bench output.
  child.stderr.setEncoding('utf8').on('data', (text) => {
    const lines = text.split('\n').filter((l) => l && !/^oidc-provider (WARNING|NOTICE)/.test(l));
    if (lines.length) process.stderr.write(`${lines.join('\n')}\n`);
  });
  return ready;
}

async function many(fedUrl, n) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await deviceSignIn(fedUrl, `user${i % 50}@bench.example`, { appru: APPRU });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** One round: both children started fresh, warmed up, then n sign-ins measured. */
async function round(n, hashPasswords) {
  const [idpPort, fedPort] = [await freePort(), await freePort()];
  const fedUrl = `http://127.0.0.1:${fedPort}`;
  const idp = await startRole('idp', { port: idpPort, secret: SECRET, redirectUri: `${fedUrl}/callback/oidc`, hashPasswords });
  let fed;
  try {
    fed = await startRole('fedbridge', { port: fedPort, secret: SECRET, issuer: `http://127.0.0.1:${idpPort}` });
    await many(fedUrl, WARM_UP);
    const [fed0, idp0] = [await fed.cpu(), await idp.cpu()];
    const start = performance.now();
    await many(fedUrl, n);
    const secs = (performance.now() - start) / 1000;
    const [fedUs, idpUs] = [(await fed.cpu()) - fed0, (await idp.cpu()) - idp0];
    return { n, perSecond: n / secs, fedMs: fedUs / n / 1000, idpMs: idpUs / n / 1000, ratio: fedUs / idpUs };
  } finally {
    await fed?.stop();
    await idp.stop();
  }
}

export async function run() {
  const strict = await round(SIGN_INS, false);
  const hashed = await round(HASHED_SIGN_INS, true);
  const row = (label, r) =>
    `${label.padEnd(34)}${String(r.n).padStart(5)}   ${`${fmt(r.idpMs)} ms`.padStart(10)}   ${`${fmt(r.fedMs)} ms`.padStart(10)}   ${r.ratio.toFixed(2).padStart(6)}`;
  return {
    name: 'oidc sign-in CPU (Fedbridge vs upstream oidc-provider)',
    ratio: strict.ratio,
    lines: [
      `CPU (user+system) per complete sign-in, ${CONCURRENCY} at a time; ${fmt(strict.perSecond)} sign-ins/s (wall)`,
      `IdP doing                         sign-ins         IdP    Fedbridge    ratio`,
      row('protocol work only', strict),
      row('+ scrypt password check', hashed),
      `aim: ratio <= 0.25`,
    ],
  };
}

// `node bench/oidc-cpu.js` runs it alone.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await run();
  console.log(`## ${r.name}\n${r.lines.map((l) => `  ${l}`).join('\n')}`);
}
