// Child process for bench/wstrust-cpu.js, one role per process so each one's CPU time can be
// read on its own: `adfs` runs the AD FS-shaped test fixture (its WS-Trust 1.3 STS signs one
// assertion per sign-in; compiled by the parent from test/fixtures/adfs), `fedbridge` runs
// the compiled service with one `wstrust` tenant pointed at it. Both answer 'cpu' over IPC
// with process.cpuUsage().
import { serveParent, startFedbridge } from './child-harness.js';
import { pathToFileURL } from 'node:url';

const [role, json] = process.argv.slice(2);
const opts = JSON.parse(json);
let stop = async () => {};
let ready = { ready: true };

if (role === 'adfs') {
  const { startAdfsFixture } = await import(pathToFileURL(opts.fixture).href);
  const users = {};
  for (let i = 0; i < opts.users; i++) users[`user${i}@bench.example`] = { password: opts.password, upn: `user${i}@bench.example`, name: `User ${i}`, groups: ['Domain Users'] };
  const fixture = await startAdfsFixture({ users, samlVersion: opts.samlVersion });
  ready = { ready: true, stsUrl: fixture.stsUrl, metadataUrl: fixture.metadataUrl };
  stop = () => fixture.close();
} else {
  stop = await startFedbridge(opts.port, { kind: 'wstrust', endpoint: opts.stsUrl, metadataUrl: opts.metadataUrl, appliesTo: 'urn:federation:fedbridge-bench' }, 'wstrust');
}

serveParent(() => stop(), ready);
