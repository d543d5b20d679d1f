// Quick paired A/B for /introspect work: Fedbridge (dist/, as built) against the bare node:http
// server, in alternating rounds; prints the median of the per-round ratios (a noisy shared
// machine moves both sides of one round alike). `npm run build && node bench/introspect-ab.js [rounds]`
import { loadTest, startChild } from './lib.js';

async function measure(server, url, makeRequest) {
  const before = await server.cpu();
  const start = performance.now();
  const rps = await loadTest(url, makeRequest);
  const secs = (performance.now() - start) / 1000;
  const cpuSecs = ((await server.cpu()) - before) / 1e6;
  return { rps, perCpu: (rps * secs) / cpuSecs, cores: cpuSecs / secs };
}

const rounds = Number(process.argv[2] ?? 5);
const fed = await startChild('fedbridge');
const base = await startChild('baseline');
const auth = `Basic ${Buffer.from('demo:fedbridge-demo').toString('base64')}`;
const fedReq = () => ({ headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ token: fed.token }) });
const baseReq = () => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: base.token }) });
const rows = [];
try {
  for (let i = 0; i < rounds; i++) {
    const b = await measure(base, `http://127.0.0.1:${base.port}/`, baseReq);
    const f = await measure(fed, `http://127.0.0.1:${fed.port}/introspect`, fedReq);
    rows.push({ rps: f.rps / b.rps, cpu: f.perCpu / b.perCpu, fedCores: f.cores, baseCores: b.cores });
  }
} finally {
  await fed.stop();
  await base.stop();
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const r of rows) console.log(`round: rps ratio ${r.rps.toFixed(2)}  per-CPU ratio ${r.cpu.toFixed(2)}  cores fed ${r.fedCores.toFixed(2)} base ${r.baseCores.toFixed(2)}`);
console.log(`median: rps ratio ${median(rows.map((r) => r.rps)).toFixed(2)}  per-CPU ratio ${median(rows.map((r) => r.cpu)).toFixed(2)}`);
