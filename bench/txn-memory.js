// Memory per in-flight sign-in transaction, in the service process and in each store (SQLite,
// Redis). Opens N sign-in windows (GET /auth with a login_hint on the demo tenant: each one
// stores a transaction and answers the password page) and never finishes them, then reads the
// growth of the service's heap (after full GCs) and RSS, and of the store: SQLite's used pages
// (page_count - freelist_count, × page_size), Redis INFO used_memory. The baseline measured in
// the same run is one transaction's own JSON, as stored: the ratio says what the store adds to it.
// TXN_BENCH_N=… changes N (default 10,000).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { fmt, forkChild, freePort } from './lib.js';

const N = 5 * Math.round(Number(process.env.TXN_BENCH_N ?? 10_000) / 5);
const WARM_UP = 200;
const CONCURRENCY = 16;
const PATH = `/auth?${new URLSearchParams({ appru: 'ms-app://windows.immersivecontrolpanel', login_hint: 'alice@example.com' })}`;

function ask(child, what) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (m && typeof m === 'object' && what in m) {
        child.off('message', on);
        resolve(m[what]);
      }
    };
    child.on('message', on);
    child.send(what);
  });
}

/** Opens n sign-in windows; each must answer the password page with a state. */
async function openWindows(port, n) {
  const dispatcher = new Agent({ connections: CONCURRENCY });
  let next = 0;
  const worker = async () => {
    while (next++ < n) {
      const res = await request(`http://127.0.0.1:${port}${PATH}`, { dispatcher });
      const html = await res.body.text();
      if (res.statusCode !== 200 || !/name="state" value="[^"]+"/.test(html)) throw new Error(`GET /auth answered ${res.statusCode} without a state`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await dispatcher.close();
}

async function measure(store) {
  const { child, ready } = forkChild('./txn-memory.child.js', store ? [JSON.stringify(store)] : [], { name: 'txn-memory child', execArgv: ['--expose-gc'] });
  const info = await ready;
  try {
    await openWindows(info.port, WARM_UP); // code paths compiled, caches and pools filled
    const mem0 = await ask(child, 'mem');
    const store0 = await ask(child, 'store');
    // The heap is read again after the first fifth too: growth from there on is what each
    // further transaction costs (the first fifth also pays one-time growth: caches, pools).
    await openWindows(info.port, N / 5);
    const memFifth = await ask(child, 'mem');
    await openWindows(info.port, N - N / 5);
    const mem1 = await ask(child, 'mem');
    const store1 = await ask(child, 'store');
    return {
      heap: (mem1.heapUsed - memFifth.heapUsed) / (N - N / 5),
      heapAll: mem1.heapUsed - mem0.heapUsed,
      rss: (mem1.rss - mem0.rss) / N,
      store: (store1.bytes - store0.bytes) / N,
      json: store1.oneJson,
      detail: store1,
    };
  } finally {
    await new Promise((r) => {
      child.removeAllListeners('exit');
      child.once('exit', r);
      child.kill('SIGTERM');
    });
  }
}

/** A throwaway redis-server on a free loopback port, no persistence (as test/helpers/redis.ts). */
async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fedbridge-bench-redis-'));
  const proc = spawn(process.env.REDIS_SERVER ?? 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const { Redis } = await import('ioredis');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise((r) => {
        proc.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          r();
        });
        proc.kill('SIGTERM');
      }),
  };
}

const kib = (b) => `${fmt(b / 1024)} KiB`; // fmt: a grouped integer at 100 and more

export async function run() {
  const sqlite = await measure(null);
  const redis = await startRedis();
  let r;
  try {
    r = await measure({ kind: 'redis', url: redis.url });
  } finally {
    await redis.stop();
  }
  const row = (name, m) =>
    `${name.padEnd(8)} ${fmt(m.heap).padStart(8)} B  ${fmt(m.rss).padStart(8)} B  ${fmt(m.store).padStart(8)} B   ${fmt(m.json).padStart(6)} B   ${(m.store / m.json).toFixed(2)}`;
  return {
    name: `memory per in-flight sign-in transaction (${fmt(N)} open sign-in windows, GET /auth, demo tenant)`,
    ratio: sqlite.store / sqlite.json,
    lines: [
      `store    service heap  service RSS  store growth  one tx JSON  store / JSON`,
      row('SQLite', sqlite),
      row('Redis', r),
      `SQLite: ${fmt(sqlite.detail.pages)} pages of ${sqlite.detail.pageSize} B (${kib(sqlite.detail.fileBytes)} in the file and its WAL), ${fmt(sqlite.detail.rows)} transactions`,
      `Redis: used_memory ${kib(r.detail.bytes)}, ${fmt(r.detail.keys)} keys; MEMORY USAGE of one tx key ${fmt(r.detail.oneBytes)} B`,
      `service heap (after full GCs) per transaction: the growth over the last ${fmt(N - N / 5)} windows; over all ${fmt(N)} it grew`,
      `${kib(sqlite.heapAll)} (SQLite run) and ${kib(r.heapAll)} (Redis run). Transactions live in the store only; RSS also counts`,
      `allocator pages touched and not returned.`,
      `1 million open windows ≈ ${fmt(sqlite.store)} MB in SQLite, ${fmt(r.store)} MB in Redis (transactions expire after their TTL).`,
    ],
  };
}

// `node bench/txn-memory.js` runs it alone (after `npm run build`).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await run();
  console.log(`## ${r.name}\n${r.lines.map((l) => `  ${l}`).join('\n')}`);
}
