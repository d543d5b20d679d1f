// Child process for bench/federation-cpu.js, one role per process so each one's CPU time can
// be read on its own: `samlify` runs the samlify SAML 2.0 IdP of the tests
// (test/helpers/samlify-idp.ts), `adfs` the AD FS-shaped fixture (test/fixtures/adfs) for
// WS-Federation, both compiled by the parent; `fedbridge` runs the compiled service with the
// tenant the parent passes. All answer 'cpu' over IPC with process.cpuUsage().
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [role, json] = process.argv.slice(2);
const opts = JSON.parse(json);
let stop = async () => {};
let ready = { ready: true };

if (role === 'samlify') {
  const { startSamlifyIdp, UPN_CLAIM } = await import(pathToFileURL(opts.module).href);
  const idp = await startSamlifyIdp({ user: { nameId: opts.user, attributes: { [UPN_CLAIM]: [opts.user] } } });
  ready = { ready: true, metadataUrl: idp.metadataUrl };
  stop = () => idp.close();
} else if (role === 'adfs') {
  const { startAdfsFixture } = await import(pathToFileURL(opts.module).href);
  const users = {};
  for (let i = 0; i < opts.users; i++) users[`user${i}@bench.example`] = { password: opts.password, upn: `user${i}@bench.example`, name: `User ${i}`, groups: ['Domain Users'] };
  const fixture = await startAdfsFixture({ users, samlVersion: opts.samlVersion });
  ready = { ready: true, metadataUrl: fixture.metadataUrl };
  stop = () => fixture.close();
} else {
  const { pino } = await import('pino');
  const { loadConfig } = await import('../dist/src/config/load.js');
  const { createService } = await import('../dist/src/service.js');
  const { upstreamKinds } = await import('../dist/src/upstreams/registry.js');
  const dir = mkdtempSync(join(tmpdir(), 'fedbridge-bench-federation-'));
  const file = join(dir, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      server: { publicUrl: `http://127.0.0.1:${opts.port}`, port: opts.port, host: '127.0.0.1' },
      store: { kind: 'sqlite', path: join(dir, 'fedbridge.db') },
      keys: { dir: join(dir, 'keys') },
      limits: { passwordPerUser: 0, passwordPerIp: 0, authPerIp: 0 },
      log: { level: 'silent' },
      tenants: [{ id: 'bench', displayName: 'Bench', domains: ['bench.example'], idp: opts.idp }],
    }),
  );
  const config = loadConfig(file, {}, { kinds: upstreamKinds });
  const service = await createService(config, { log: pino({ level: 'silent' }) });
  const server = service.app.listen(opts.port, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  stop = async () => {
    await new Promise((r) => server.close(r));
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  };
}

process.on('message', (m) => {
  if (m === 'cpu') process.send({ cpu: process.cpuUsage() });
});
process.on('SIGTERM', async () => {
  await stop();
  process.exit(0);
});
process.send(ready);
