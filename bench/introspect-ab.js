// Quick paired A/B for /introspect work: Fedbridge (dist/, as built) against the bare node:http
// server, in alternating rounds; prints the median of the per-round ratios (a noisy shared
// machine moves both sides of one round alike). `npm run build && node bench/introspect-ab.js [rounds]`
//
// `node bench/introspect-ab.js [rounds] --against DIR` also measures a second build in the same
// rounds: DIR holds its own bench/ (lib.js, servers.js), dist/ and package.json, with
// node_modules linked to this checkout's (e.g. the build before a change:
// `npx tsc -p tsconfig.build.json --outDir DIR/dist`), and prints both ratios and this build's
// ratio to that one, per CPU-second.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { measureLoad as measure, startChild } from './lib.js';


const args = process.argv.slice(2);
const at = args.indexOf('--against');
const againstDir = at === -1 ? undefined : resolve(args.splice(at, 2)[1]);
const rounds = Number(args[0] ?? 5);
// The other build first: if it cannot start, nothing else is left running.
const other = againstDir ? await (await import(pathToFileURL(`${againstDir}/bench/lib.js`).href)).startChild('fedbridge') : undefined;
const fed = await startChild('fedbridge');
const base = await startChild('baseline');
const auth = `Basic ${Buffer.from('demo:fedbridge-demo').toString('base64')}`;
const fedReq = (s) => () => ({ headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ token: s.token }) });
const baseReq = () => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: base.token }) });
const rows = [];
try {
  for (let i = 0; i < rounds; i++) {
    // Alternate which Fedbridge build goes first, so neither always follows the bare server.
    const b = await measure(base, `http://127.0.0.1:${base.port}/`, baseReq);
    let f;
    let o;
    if (other && i % 2 === 1) o = await measure(other, `http://127.0.0.1:${other.port}/introspect`, fedReq(other));
    f = await measure(fed, `http://127.0.0.1:${fed.port}/introspect`, fedReq(fed));
    if (other && i % 2 === 0) o = await measure(other, `http://127.0.0.1:${other.port}/introspect`, fedReq(other));
    rows.push({ rps: f.rps / b.rps, cpu: f.perCpuSecond / b.perCpuSecond, fedCores: f.cores, baseCores: b.cores, otherCpu: o && o.perCpuSecond / b.perCpuSecond, vs: o && f.perCpuSecond / o.perCpuSecond });
  }
} finally {
  await fed.stop();
  await base.stop();
  await other?.stop();
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const r of rows) {
  const o = other ? `  against ${r.otherCpu.toFixed(2)}  this/against ${r.vs.toFixed(2)}` : '';
  console.log(`round: rps ratio ${r.rps.toFixed(2)}  per-CPU ratio ${r.cpu.toFixed(2)}  cores fed ${r.fedCores.toFixed(2)} base ${r.baseCores.toFixed(2)}${o}`);
}
const o = other ? `  against (per-CPU) ${median(rows.map((r) => r.otherCpu)).toFixed(2)}  this/against ${median(rows.map((r) => r.vs)).toFixed(2)}` : '';
console.log(`median: rps ratio ${median(rows.map((r) => r.rps)).toFixed(2)}  per-CPU ratio ${median(rows.map((r) => r.cpu)).toFixed(2)}${o}`);
