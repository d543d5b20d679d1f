// Child process for the HTTP benches: either Fedbridge (demo config) or a bare node:http
// server doing the same jwtVerify. Reports its port and a token over IPC.
// Fedbridge logs as in production (info: one access-log line per request) to its stdout,
// a pipe the parent drains: `fedbridge` with the shipped logger (lines gathered, written in
// batches; access lines without the redaction pass), `fedbridge-oldlog` as before issue #11.
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { loadConfig } from '../dist/src/config/load.js';
import { createService } from '../dist/src/service.js';
import { createLogger } from '../dist/src/log.js';
import { upstreamKinds } from '../dist/src/upstreams/registry.js';
import { mintToken } from '../dist/src/tokens/mint.js';

const [kind] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'fedbridge-bench-'));
const env = { HOST: '127.0.0.1', PORT: '0', FEDBRIDGE_DATA: join(dir, 'data'), FEDBRIDGE_KEYS: join(dir, 'keys') };
const config = loadConfig(undefined, env, { kinds: upstreamKinds });
config.limits = { passwordPerUser: 0, passwordPerIp: 0, authPerIp: 0 };
let log = kind === 'fedbridge' ? createLogger(config.log.level) : pino({ level: 'silent' });
if (kind === 'fedbridge-oldlog') {
  // As before issue #11: pino's default stdout (one write per line) and the redaction pass on
  // access-log lines too (the access log's child logger turns it off; this one ignores that).
  log = createLogger(config.log.level, pino.destination({ dest: 1 }));
  const child = log.child.bind(log);
  log.child = (bindings) => child(bindings);
}
const service = await createService(config, { log });
const now = Date.now();
const identity = { subject: 'alice', upn: 'alice@example.com', groups: [], amr: ['pwd'], authTime: Math.floor(now / 1000), idp: { kind: 'local', id: 'demo-local' } };

let server;
if (kind.startsWith('fedbridge')) {
  server = service.app.listen(0, '127.0.0.1');
} else if (kind === 'koa') {
  // The framework floor: Koa + @koa/router + the same body parser around the same jwtVerify.
  const { default: Koa } = await import('koa');
  const { default: Router } = await import('@koa/router');
  const { bodyParser } = await import('@koa/bodyparser');
  const keys = createLocalJWKSet(service.deps.keys.jwks(now));
  const app = new Koa();
  const router = new Router();
  router.post('/', bodyParser({ enableTypes: ['json'] }), async (ctx) => {
    try {
      const { payload } = await jwtVerify(ctx.request.body.token, keys, { issuer: config.server.publicUrl, audience: 'urn:fedbridge:demo' });
      ctx.body = { active: true, ...payload };
    } catch {
      ctx.status = 500; // the load test counts non-200 answers as failures
    }
  });
  app.use(router.routes());
  server = app.listen(0, '127.0.0.1');
} else {
  // The baseline: parse the same JSON body and jwtVerify against the same keys, nothing else.
  const keys = createLocalJWKSet(service.deps.keys.jwks(now));
  server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const { token } = JSON.parse(Buffer.concat(chunks).toString());
        const { payload } = await jwtVerify(token, keys, { issuer: config.server.publicUrl, audience: 'urn:fedbridge:demo' });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ active: true, ...payload }));
      } catch {
        res.writeHead(500); // the load test counts non-200 answers as failures
        res.end();
      }
    });
  }).listen(0, '127.0.0.1');
}
await new Promise((r) => server.once('listening', r));
const port = server.address().port;
// The issuer is publicUrl as configured (port 0 in the config): tokens are minted for it.
const { token } = await mintToken(service.deps.keys, {
  identity,
  issuer: config.server.publicUrl,
  audience: 'urn:fedbridge:demo',
  tenantId: 'demo',
  ttlSeconds: 600,
  loginHint: null,
  client: {},
  invitationId: null,
  now,
});
process.send({ port, token });
// The parent asks for our CPU time around a load run: requests per CPU-second is robust
// to other processes competing for the machine's two cores.
process.on('message', (m) => {
  if (m === 'cpu') process.send({ cpu: process.cpuUsage() });
});
process.on('SIGTERM', async () => {
  server.close();
  await service.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
