// Child process for bench/txn-memory.js: Fedbridge (demo config, rate limits off, silent log)
// on the store given as JSON in argv[2] (SQLite by default). Answers over IPC:
//   'mem'   -> the heap after two full GCs, and RSS (run with --expose-gc)
//   'store' -> the store's size: SQLite pages (page_count × page_size) and the file sizes,
//              or Redis INFO used_memory and DBSIZE; plus the stored size of one transaction.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { loadConfig } from '../dist/src/config/load.js';
import { createService } from '../dist/src/service.js';
import { upstreamKinds } from '../dist/src/upstreams/registry.js';

const store = process.argv[2] ? JSON.parse(process.argv[2]) : null;
const dir = mkdtempSync(join(tmpdir(), 'fedbridge-txnmem-'));
const env = { HOST: '127.0.0.1', PORT: '0', FEDBRIDGE_DATA: join(dir, 'data'), FEDBRIDGE_KEYS: join(dir, 'keys') };
const config = loadConfig(undefined, env, { kinds: upstreamKinds });
config.limits = { passwordPerUser: 0, passwordPerIp: 0, authPerIp: 0 };
if (store) config.store = store;
const service = await createService(config, { log: pino({ level: 'silent' }) });
const server = service.app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const redis = config.store.kind === 'redis' ? new Redis(config.store.url, { lazyConnect: false }) : null;

const size = (f) => {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
};

async function storeSize() {
  if (redis) {
    const info = await redis.info('memory');
    const used = Number(/\r?\nused_memory:(\d+)/.exec(`\n${info}`)?.[1]);
    const keys = await redis.dbsize();
    const one = (await redis.keys('*tx:*'))[0]; // under the store's key prefix
    const oneBytes = one ? Number(await redis.call('MEMORY', 'USAGE', one)) : 0;
    const oneJson = one ? (await redis.get(one)).length : 0;
    return { kind: 'redis', bytes: used, keys, oneBytes, oneJson };
  }
  const file = config.store.path;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const pages = db.pragma('page_count', { simple: true });
    const pageSize = db.pragma('page_size', { simple: true });
    const free = db.pragma('freelist_count', { simple: true });
    const rows = db.prepare('SELECT count(*) AS n, avg(length(data)) AS json FROM transactions').get();
    return { kind: 'sqlite', bytes: (pages - free) * pageSize, pages, pageSize, fileBytes: size(file) + size(`${file}-wal`), rows: rows.n, oneJson: rows.json };
  } finally {
    db.close();
  }
}

process.on('message', async (m) => {
  if (m === 'mem') {
    global.gc();
    global.gc();
    const u = process.memoryUsage();
    process.send({ mem: { heapUsed: u.heapUsed, rss: u.rss, external: u.external } });
  } else if (m === 'store') {
    process.send({ store: await storeSize() });
  } else if (m === 'cpu') {
    process.send({ cpu: process.cpuUsage() });
  }
});
process.on('SIGTERM', async () => {
  server.close();
  server.closeAllConnections();
  redis?.disconnect();
  await service.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
process.send({ port: server.address().port, store: config.store.kind });
