// `npm run bench`: every benchmark prints its figure as a ratio against a baseline
// measured in the same run (these machines are noisy; absolute numbers are not comparable).
import { existsSync } from 'node:fs';

const modules = ['./mint.js', './introspect.js', './oidc-cpu.js', './xml-amplification.js'].filter((m) => existsSync(new URL(m, import.meta.url)));
modules.push('./password-burst.js'); // issue #7 finding 6
modules.push('./wstrust-cpu.js'); // issue #8: wstrust CPU per sign-in vs the AD FS fixture
modules.push('./federation-cpu.js'); // issue #8: saml and wsfed CPU per sign-in vs their IdP fixtures
modules.push('./password-cpu.js'); // issue #11: local CPU per sign-in, password sign-ins per second per core
modules.push('./txn-memory.js'); // memory per in-flight sign-in transaction, SQLite and Redis (docs/operations.md, "Capacity")
modules.push('./oidc-pages-cpu.js'); // oidc CPU per sign-in vs oidc-provider serving its own login and consent pages, with Fedbridge's top frames
const only = process.argv[2];
let failed = false;
for (const m of modules) {
  if (only && !m.includes(only)) continue;
  const { run } = await import(m);
  try {
    const r = await run();
    console.log(`\n## ${r.name}`);
    for (const line of r.lines) console.log(`  ${line}`);
  } catch (err) {
    failed = true;
    console.error(`\n## ${m} failed: ${err?.stack ?? err}`);
  }
}
process.exit(failed ? 1 : 0);
