// Child process for bench/federation-cpu.js, one role per process so each one's CPU time can
// be read on its own: `samlify` runs the samlify SAML 2.0 IdP of the tests
// (test/helpers/samlify-idp.ts), `adfs` the AD FS-shaped fixture (test/fixtures/adfs) for
// WS-Federation, both compiled by the parent; `fedbridge` runs the compiled service with the
// tenant the parent passes. All answer 'cpu' over IPC with process.cpuUsage().
import { serveParent, startFedbridge } from './child-harness.js';
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
  stop = await startFedbridge(opts.port, opts.idp, 'federation');
}

serveParent(() => stop(), ready);
