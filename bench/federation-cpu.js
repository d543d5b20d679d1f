// CPU time Fedbridge spends per complete saml and wsfed sign-in, against the CPU time the IdP
// fixture of the tests spends on the same sign-ins, in one run (issue #8: CPU per sign-in for
// each kind). saml: the samlify SAML 2.0 IdP (test/helpers/samlify-idp.ts; HTTP-Redirect
// AuthnRequest, POST answer with a signed Assertion). wsfed: the AD FS-shaped fixture
// (test/fixtures/adfs; forms login, wresult with a signed SAML 1.1 or 2.0 assertion).
// As bench/wstrust-cpu.js: each side in its own child process reporting process.cpuUsage()
// over IPC; the parent plays the device window over HTTP. Neither IdP hashes passwords (the
// AD FS fixture compares them in plain text): this is protocol work against protocol work.
// The fixtures are TypeScript: compiled with tsc into dist/bench-fixtures/ first.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fmt, forkChild, freePort } from './lib.js';

const SIGN_INS = Number(process.env.FEDERATION_BENCH_SIGNINS ?? 300);
const WARM_UP = 30;
const CONCURRENCY = 4;
const USERS = 50;
const PASSWORD = 'Bench-passw0rd!';
const APPRU = 'ms-app://windows.immersivecontrolpanel';
const root = new URL('..', import.meta.url);
const OUT = fileURLToPath(new URL('dist/bench-fixtures/', root));

/** The fixtures → dist/bench-fixtures (under the repo, so their imports find node_modules). */
function compileFixtures() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const common = ['--rootDir', fileURLToPath(root), '--target', 'ES2022', '--lib', 'ES2023,DOM', '--types', 'node', '--skipLibCheck', '--esModuleInterop'];
  const src = (f) => fileURLToPath(new URL(f, root));
  execFileSync(process.execPath, [tsc, '--outDir', OUT, '--module', 'NodeNext', '--moduleResolution', 'NodeNext', ...common, src('test/fixtures/adfs/index.ts')], { stdio: 'inherit' });
  // samlify is CommonJS and reached through its namespace (samlify.SamlLib...): compiled as
  // CommonJS, the helper gets the whole module object, as it does under vitest.
  const cjs = `${OUT}cjs/`;
  execFileSync(process.execPath, [tsc, '--outDir', cjs, '--module', 'CommonJS', '--moduleResolution', 'Node10', ...common, src('test/helpers/samlify-idp.ts')], { stdio: 'inherit' });
  writeFileSync(`${cjs}package.json`, '{"type":"commonjs"}\n');
  return { adfs: `${OUT}test/fixtures/adfs/index.js`, samlify: `${cjs}test/helpers/samlify-idp.js` };
}

function startRole(role, opts) {
  return forkChild('./federation-cpu.child.js', [role, JSON.stringify(opts)], { name: role }).ready;
}

const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The first form of a page: its action and every hidden field. */
function formOf(html, base) {
  const action = /<form [^>]*action="([^"]*)"/i.exec(html)?.[1];
  if (!action) return null;
  const fields = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"/g)) fields[unescape(m[1])] = unescape(m[2]);
  return { action: new URL(unescape(action), base).href, fields };
}

const post = (url, fields) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields), redirect: 'manual' });

async function toIdp(fedUrl, user) {
  const res = await fetch(`${fedUrl}/auth?${new URLSearchParams({ appru: APPRU, login_hint: user })}`, { redirect: 'manual' });
  await res.text();
  if (res.status !== 302) throw new Error(`/auth answered ${res.status}`);
  return res.headers.get('location');
}

async function finish(res) {
  const html = await res.text();
  if (!html.includes('name="wresult"')) throw new Error(`sign-in failed: ${res.status} ${/<code>([^<]*)/.exec(html)?.[1]}`);
}

/** saml: /auth → the IdP's /sso (it signs in its user) → its auto-POST form to our ACS → the wresult page. */
async function samlSignIn(fedUrl, user) {
  const sso = await toIdp(fedUrl, user);
  const page = await fetch(sso);

  const html = await page.text();
  const form = formOf(html, sso);
  if (!form?.fields.SAMLResponse) throw new Error(`no SAMLResponse form (${page.status} ${html.slice(0, 200)})`);
  await finish(await post(form.action, form.fields));
}

/** wsfed: /auth → the AD FS login page → POST the password → its auto-POST form (wresult) to our wreply → the wresult page. */
async function wsfedSignIn(fedUrl, user) {
  const passive = await toIdp(fedUrl, user);
  const page = await fetch(passive);
  const html = await page.text();
  const action = /<form method="post" id="loginForm" action="([^"]*)">/.exec(html)?.[1];
  if (!action) throw new Error(`no AD FS login form (${page.status})`);
  const res = await post(new URL(unescape(action), passive).href, { UserName: user, Password: PASSWORD, AuthMethod: 'FormsAuthentication' });
  const form = formOf(await res.text(), passive);
  if (!form?.fields.wresult) throw new Error(`no wresult form from AD FS (${res.status})`);
  await finish(await post(form.action, form.fields));
}

async function many(signIn, fedUrl, n, users) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await signIn(fedUrl, users(i));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function round({ idpRole, idpOpts, idp: tenantIdp, signIn, users }, n) {
  const idp = await startRole(idpRole, idpOpts);
  let fed;
  try {
    const port = await freePort();
    const fedUrl = `http://127.0.0.1:${port}`;
    fed = await startRole('fedbridge', { port, idp: tenantIdp(idp) });
    await many(signIn, fedUrl, WARM_UP, users);
    const [fed0, idp0] = [await fed.cpu(), await idp.cpu()];
    const start = performance.now();
    await many(signIn, fedUrl, n, users);
    const secs = (performance.now() - start) / 1000;
    const [fedUs, idpUs] = [(await fed.cpu()) - fed0, (await idp.cpu()) - idp0];
    return { n, perSecond: n / secs, fedMs: fedUs / n / 1000, idpMs: idpUs / n / 1000, ratio: fedUs / idpUs };
  } finally {
    await fed?.stop();
    await idp.stop();
  }
}

export async function run() {
  const modules = compileFixtures();
  const SAML_USER = 'alice@bench.example';
  const saml = await round(
    { idpRole: 'samlify', idpOpts: { module: modules.samlify, user: SAML_USER }, idp: (i) => ({ kind: 'saml', metadataUrl: i.metadataUrl }), signIn: samlSignIn, users: () => SAML_USER },
    SIGN_INS,
  );
  const wsfed = (samlVersion) =>
    round(
      {
        idpRole: 'adfs',
        idpOpts: { module: modules.adfs, users: USERS, password: PASSWORD, samlVersion },
        idp: (i) => ({ kind: 'wsfed', metadataUrl: i.metadataUrl }),
        signIn: wsfedSignIn,
        users: (i) => `user${i % USERS}@bench.example`,
      },
      SIGN_INS,
    );
  const wsfed11 = await wsfed('1.1');
  const wsfed20 = await wsfed('2.0');
  const row = (label, r) =>
    `${label.padEnd(34)}${String(r.n).padStart(5)}   ${`${fmt(r.idpMs)} ms`.padStart(10)}   ${`${fmt(r.fedMs)} ms`.padStart(10)}   ${r.ratio.toFixed(2).padStart(6)}   ${fmt(r.perSecond).padStart(6)}/s`;
  return {
    name: 'saml and wsfed sign-in CPU (Fedbridge vs the IdP fixtures)',
    ratio: saml.ratio,
    lines: [
      `CPU (user+system) per complete sign-in, ${CONCURRENCY} at a time`,
      `${'kind, IdP'.padEnd(31)}sign-ins   ${'IdP'.padStart(10)}   ${'Fedbridge'.padStart(10)}    ratio   (wall)`,
      row('saml, samlify IdP', saml),
      row('wsfed, AD FS fixture (SAML 1.1)', wsfed11),
      row('wsfed, AD FS fixture (SAML 2.0)', wsfed20),
      'the samlify IdP reads Fedbridge\'s SP metadata on every sign-in: serving it is in Fedbridge\'s figure',
    ],
  };
}

// `node bench/federation-cpu.js` runs it alone (after `npm run build`).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await run();
  console.log(`## ${r.name}\n${r.lines.map((l) => `  ${l}`).join('\n')}`);
}
