// Shared bench helpers: timed loops, HTTP load on loopback, child-process servers.
import { fork } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

/** Runs fn repeatedly for `ms` and returns operations per second. */
export async function opsPerSecond(fn, ms = 2000) {
  for (let i = 0; i < 50; i++) await fn(); // warm-up
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    await fn();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

/**
 * Sends `makeRequest()` requests to `url` with `concurrency` in flight for `ms`,
 * over keep-alive connections; returns requests per second (all must answer 200).
 */
export async function loadTest(url, makeRequest, { ms = 3000, concurrency = 16 } = {}) {
  const dispatcher = new Agent({ connections: concurrency, pipelining: 1 });
  let done = 0;
  let failed = 0;
  const stopAt = performance.now() + ms;
  const worker = async () => {
    while (performance.now() < stopAt) {
      const { headers, body } = makeRequest();
      const res = await request(url, { method: 'POST', headers, body, dispatcher });
      await res.body.text();
      if (res.statusCode === 200) done++;
      else failed++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const secs = (performance.now() - start) / 1000;
  await dispatcher.close();
  if (failed) throw new Error(`${failed} requests failed during the load test`);
  return done / secs;
}

/**
 * Forks a bench child (`script` beside this file) and resolves, once it reports ready over
 * IPC, to { ...its message, cpu(), stop() }: cpu() asks the child for its CPU microseconds.
 */
/** Throughput and requests per server CPU-second of one load run against a child server (startChild). */
export async function measureLoad(server, url, makeRequest) {
  const before = await server.cpu();
  const start = performance.now();
  const rps = await loadTest(url, makeRequest);
  const secs = (performance.now() - start) / 1000;
  const cpuSecs = ((await server.cpu()) - before) / 1e6;
  return { rps, perCpuSecond: (rps * secs) / cpuSecs, cores: cpuSecs / secs };
}

export function forkChild(script, args, { stdio = ['ignore', 'inherit', 'inherit', 'ipc'], name = script, execArgv: extraArgv = [] } = {}) {
  // BENCH_PROFILE=dir writes a CPU profile of every child there (for finding hot spots).
  const execArgv = [...extraArgv, ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [])];
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), args, { stdio, execArgv });
  const ready = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    child.once('message', (msg) => {
      resolve({
        ...msg,
        /** CPU microseconds (user+system) the child has used so far. */
        cpu: () =>
          new Promise((r) => {
            child.once('message', (m) => r(m.cpu.user + m.cpu.system));
            child.send('cpu');
          }),
        stop: () =>
          new Promise((r) => {
            child.removeAllListeners('exit');
            child.once('exit', () => r());
            child.kill('SIGTERM');
          }),
      });
    });
  });
  return { child, ready };
}

/** Starts bench/servers.js with `kind` (fedbridge | baseline). */
export function startChild(kind, extra = {}) {
  // Its stdout (Fedbridge's JSON log) is a pipe, drained here and thrown away, as a log shipper would read it.
  const { child, ready } = forkChild('./servers.js', [kind, JSON.stringify(extra)], { name: `${kind} server`, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  child.stdout.resume();
  return ready;
}

export const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));

/** A free TCP port on 127.0.0.1 (asked of the OS, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * One sign-in as the device window does it, over fetch with a cookie jar: /auth, the redirects,
 * each IdP page's form posted with the bench user's password, the callback, and the wresult
 * page at `fedUrl`. Resolves to the number of IdP pages it went through.
 */
export async function deviceSignIn(fedUrl, user, { appru = 'ms-app://windows.immersivecontrolpanel', password = 'bench-password', maxSteps = 16 } = {}) {
  const cookies = new Map();
  const go = async (url, init = {}) => {
    const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, cookie } });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return res;
  };
  let url = `${fedUrl}/auth?${new URLSearchParams({ appru, login_hint: user })}`;
  let res = await go(url);
  let pages = 0;
  for (let step = 0; step < maxSteps; step++) {
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location'), url).href;
      res = await go(url);
      continue;
    }
    const html = await res.text();
    if (url.startsWith(fedUrl)) {
      if (!html.includes('name="wresult"')) throw new Error(`sign-in failed: ${res.status} ${/<code>([^<]*)/.exec(html)?.[1]}`);
      return pages;
    }
    pages++;
    const action = new URL(/action="([^"]*)"/.exec(html)[1], url).href;
    res = await go(action, { method: 'POST', body: new URLSearchParams({ login: user, password }) });
    url = action;
  }
  throw new Error('sign-in did not finish');
}
