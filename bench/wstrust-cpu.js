// CPU time Fedbridge spends per complete wstrust sign-in (its password page, the WS-Trust 1.3
// RST to the STS, the strict check of the returned signed assertion, the token), against the
// CPU time the AD FS-shaped fixture's STS spends on the same sign-ins (reading the RST,
// building and signing one assertion), in one run. Each side runs in its own child process
// and reports process.cpuUsage() over IPC before and after; the parent plays the device
// window over HTTP. The fixture compares passwords in plain text: a real AD FS also binds
// to a domain controller, so this is the strict comparison (protocol work only).
// The fixture is TypeScript (test/fixtures/adfs): it is compiled with tsc into dist/ first.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { fmt, forkChild, freePort } from './lib.js';

const SIGN_INS = Number(process.env.WSTRUST_BENCH_SIGNINS ?? 400);
const WARM_UP = 30;
const CONCURRENCY = 4;
const USERS = 50;
const PASSWORD = 'Bench-passw0rd!';
const APPRU = 'ms-app://windows.immersivecontrolpanel';
const root = new URL('..', import.meta.url);
const FIXTURE_OUT = fileURLToPath(new URL('dist/bench-adfs-fixture/', root));

/** test/fixtures/adfs → dist/bench-adfs-fixture (under the repo, so its imports find node_modules). */
function compileFixture() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const args = ['--outDir', FIXTURE_OUT, '--rootDir', fileURLToPath(root), '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--lib', 'ES2023', '--types', 'node', '--skipLibCheck', '--esModuleInterop'];
  execFileSync(process.execPath, [tsc, ...args, fileURLToPath(new URL('test/fixtures/adfs/index.ts', root))], { stdio: 'inherit' });
  return `${FIXTURE_OUT}test/fixtures/adfs/index.js`;
}

function startRole(role, opts) {
  return forkChild('./wstrust-cpu.child.js', [role, JSON.stringify(opts)], { name: role }).ready;
}

/** One sign-in as the device window does it: /auth (the password page), POST /auth/password, the wresult page. */
async function signIn(fedUrl, user) {
  const page = await fetch(`${fedUrl}/auth?appru=${encodeURIComponent(APPRU)}&login_hint=${encodeURIComponent(user)}`);
  const html = await page.text();
  const state = /name="state" value="([^"]*)"/.exec(html)?.[1];
  if (!state) throw new Error(`no password page: ${page.status}`);
  const res = await fetch(`${fedUrl}/auth/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ state, username: user, password: PASSWORD }),
  });
  const done = await res.text();
  if (!done.includes('name="wresult"')) throw new Error(`sign-in failed: ${res.status} ${/<code>([^<]*)/.exec(done)?.[1]}`);
}

async function many(fedUrl, n) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await signIn(fedUrl, `user${i % USERS}@bench.example`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function round(fixture, n, samlVersion) {
  const adfs = await startRole('adfs', { fixture, users: USERS, password: PASSWORD, samlVersion });
  let fed;
  try {
    const port = await freePort();
    const fedUrl = `http://127.0.0.1:${port}`;
    fed = await startRole('fedbridge', { port, stsUrl: adfs.stsUrl, metadataUrl: adfs.metadataUrl });
    await many(fedUrl, WARM_UP);
    const [fed0, idp0] = [await fed.cpu(), await adfs.cpu()];
    const start = performance.now();
    await many(fedUrl, n);
    const secs = (performance.now() - start) / 1000;
    const [fedUs, idpUs] = [(await fed.cpu()) - fed0, (await adfs.cpu()) - idp0];
    return { n, perSecond: n / secs, fedMs: fedUs / n / 1000, idpMs: idpUs / n / 1000, ratio: fedUs / idpUs };
  } finally {
    await fed?.stop();
    await adfs.stop();
  }
}

export async function run() {
  const fixture = compileFixture();
  const saml11 = await round(fixture, SIGN_INS, '1.1');
  const saml20 = await round(fixture, SIGN_INS, '2.0');
  const row = (label, r) =>
    `${label.padEnd(34)}${String(r.n).padStart(5)}   ${`${fmt(r.idpMs)} ms`.padStart(10)}   ${`${fmt(r.fedMs)} ms`.padStart(10)}   ${r.ratio.toFixed(2).padStart(6)}`;
  return {
    name: 'wstrust sign-in CPU (Fedbridge vs the AD FS fixture STS)',
    ratio: saml11.ratio,
    lines: [
      `CPU (user+system) per complete sign-in, ${CONCURRENCY} at a time; ${fmt(saml11.perSecond)} sign-ins/s (wall)`,
      `${'STS answering with'.padEnd(31)}sign-ins   ${'AD FS STS'.padStart(10)}   ${'Fedbridge'.padStart(10)}    ratio`,
      row('SAML 1.1 (AD FS default)', saml11),
      row('SAML 2.0', saml20),
      'the fixture checks passwords in plain text (a real AD FS also asks a domain controller)',
    ],
  };
}

// `node bench/wstrust-cpu.js` runs it alone (after `npm run build`).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await run();
  console.log(`## ${r.name}\n${r.lines.map((l) => `  ${l}`).join('\n')}`);
}
