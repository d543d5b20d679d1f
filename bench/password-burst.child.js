// Child for bench/password-burst.js: Fedbridge in demo mode behind a trusted proxy (so the
// parent can vary the client address with X-Forwarded-For on loopback), default limits.
// argv[2]: 'bounded' (the hashing queue as shipped) or 'unbounded' (every hash straight onto
// the thread pool, as before issue #7). The parent sets UV_THREADPOOL_SIZE in our env.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../dist/src/config/load.js';
import { createService } from '../dist/src/service.js';
import { upstreamKinds } from '../dist/src/upstreams/registry.js';
import { passwordHashQueue } from '../dist/src/upstreams/local/hashqueue.js';

const [mode] = process.argv.slice(2);
if (mode === 'unbounded') passwordHashQueue.configure({ concurrency: 1_000_000, maxWaiting: 0, maxPriorityWaiting: 0 });
const dir = mkdtempSync(join(tmpdir(), 'fedbridge-bench-'));
const env = { HOST: '127.0.0.1', PORT: '0', FEDBRIDGE_DATA: join(dir, 'data'), FEDBRIDGE_KEYS: join(dir, 'keys') };
const config = loadConfig(undefined, env, { kinds: upstreamKinds });
config.server.trustProxy = true;
const service = await createService(config, { log: pino({ level: 'silent' }) });
const server = service.app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
process.send({ port: server.address().port, queue: passwordHashQueue.options, pool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)' });
process.on('message', (m) => {
  if (m === 'cpu') process.send({ cpu: process.cpuUsage() });
});
process.on('SIGTERM', async () => {
  server.close();
  await service.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
