// What every CPU bench child shares (bench/*-cpu.child.js): the compiled Fedbridge with one
// tenant on SQLite, silent logs and no rate limits, and the IPC a parent measures with ('cpu':
// process.cpuUsage(); 'mark': the monotonic clock in microseconds, the clock of a --cpu-prof
// profile's timestamps; SIGTERM stops the role and exits).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Starts Fedbridge on 127.0.0.1:`port` with one tenant `bench` (domain bench.example) on `idp`; resolves to its stop(). */
export async function startFedbridge(port, idp, name = 'fedbridge') {
  const { pino } = await import('pino');
  const { loadConfig } = await import('../dist/src/config/load.js');
  const { createService } = await import('../dist/src/service.js');
  const { upstreamKinds } = await import('../dist/src/upstreams/registry.js');
  const dir = mkdtempSync(join(tmpdir(), `fedbridge-bench-${name}-`));
  const file = join(dir, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      server: { publicUrl: `http://127.0.0.1:${port}`, port, host: '127.0.0.1' },
      store: { kind: 'sqlite', path: join(dir, 'fedbridge.db') },
      keys: { dir: join(dir, 'keys') },
      limits: { passwordPerUser: 0, passwordPerIp: 0, authPerIp: 0 },
      log: { level: 'silent' },
      tenants: [{ id: 'bench', displayName: 'Bench', domains: ['bench.example'], idp }],
    }),
  );
  const config = loadConfig(file, {}, { kinds: upstreamKinds });
  const service = await createService(config, { log: pino({ level: 'silent' }) });
  const server = service.app.listen(port, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return async () => {
    await new Promise((r) => server.close(r));
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  };
}

/** Answers the parent's 'cpu' and 'mark', stops on SIGTERM, and says `ready` (an object sent as is). */
export function serveParent(stop, ready = { ready: true }) {
  process.on('message', (m) => {
    if (m === 'cpu') process.send({ cpu: process.cpuUsage() });
    else if (m === 'mark') process.send({ mark: Number(process.hrtime.bigint() / 1000n) });
  });
  process.on('SIGTERM', async () => {
    await stop();
    process.exit(0);
  });
  process.send(ready);
}
