// Child process for bench/oidc-pages-cpu.js, one role per process so each one's CPU time is
// its own: `idp` runs node-oidc-provider serving its own login AND consent pages (as the test
// IdP of the load suite, test/helpers/oidc-provider.ts, does: a fresh session per window, so
// every sign-in sees both pages); `fedbridge` runs the compiled service with one oidc tenant.
// Both answer over IPC: 'cpu' (process.cpuUsage()) and 'mark' (the monotonic clock in
// microseconds, the clock of a --cpu-prof profile's timestamps, so the parent can keep only the
// samples of the measured sign-ins).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [role, json] = process.argv.slice(2);
const opts = JSON.parse(json);
let stop = async () => {};

const page = (title, body) => `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function readForm(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

if (role === 'idp') {
  const { default: Provider } = await import('oidc-provider');
  const { exportJWK, generateKeyPair } = await import('jose');
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(`http://127.0.0.1:${opts.port}`, {
    clients: [{ client_id: 'bench', client_secret: opts.secret, redirect_uris: [opts.redirectUri], token_endpoint_auth_method: 'client_secret_basic', grant_types: ['authorization_code'], response_types: ['code'] }],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'bench', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: ['bench-cookie-key'] },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: `sub-${id}`, preferred_username: id, name: `User ${id}`, email: id, groups: ['g1'] }) }),
    claims: { openid: ['sub', 'acr', 'amr', 'tid', 'oid', 'groups'], profile: ['name', 'preferred_username'], email: ['email'] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    responseTypes: ['code'],
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, i) => `/interaction/${i.uid}` },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
  });
  // Login page, then consent page, as the load suite's IdP.
  provider.use(async (ctx, next) => {
    const m = /^\/interaction\/([^/]+)(?:\/(login|consent))?$/.exec(ctx.path);
    if (!m) return next();
    const [, uid, action] = m;
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const finish = async (result, merge = false) => {
      ctx.status = 303;
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge }));
    };
    if (ctx.method === 'GET' && details.prompt.name === 'login') {
      ctx.type = 'html';
      ctx.body = page('Sign in', `<form method="post" action="/interaction/${uid}/login"><input name="login" value="${escapeHtml(details.params.login_hint ?? '')}"><input type="password" name="password"><button type="submit">Sign in</button></form>`);
      return;
    }
    if (ctx.method === 'GET' && details.prompt.name === 'consent') {
      ctx.type = 'html';
      ctx.body = page('Allow access', `<form method="post" action="/interaction/${uid}/consent"><button type="submit">Accept</button></form>`);
      return;
    }
    if (ctx.method === 'POST' && action === 'login') {
      const form = await readForm(ctx.req);
      if (form.get('password') !== 'bench-password') {
        ctx.status = 401;
        ctx.body = 'wrong password';
        return;
      }
      return finish({ login: { accountId: form.get('login'), amr: ['pwd'], acr: 'urn:test:pwd' } });
    }
    if (ctx.method === 'POST' && action === 'consent') {
      const { prompt, params, session, grantId } = details;
      const grant = (grantId && (await provider.Grant.find(grantId))) || new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
      if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
      return finish({ consent: { grantId: await grant.save() } }, true);
    }
    ctx.status = 400;
    ctx.body = 'unexpected interaction step';
  });
  const server = provider.listen(opts.port, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  stop = async () => new Promise((r) => server.close(r));
} else {
  const { pino } = await import('pino');
  const { loadConfig } = await import('../dist/src/config/load.js');
  const { createService } = await import('../dist/src/service.js');
  const { upstreamKinds } = await import('../dist/src/upstreams/registry.js');
  const dir = mkdtempSync(join(tmpdir(), 'fedbridge-bench-oidc-pages-'));
  const file = join(dir, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      server: { publicUrl: `http://127.0.0.1:${opts.port}`, port: opts.port, host: '127.0.0.1' },
      store: { kind: 'sqlite', path: join(dir, 'fedbridge.db') },
      keys: { dir: join(dir, 'keys') },
      limits: { passwordPerUser: 0, passwordPerIp: 0, authPerIp: 0 },
      log: { level: 'silent' },
      tenants: [
        {
          id: 'bench',
          displayName: 'Bench',
          domains: ['bench.example'],
          idp: { kind: 'oidc', issuer: opts.issuer, clientId: 'bench', clientSecret: opts.secret, tokenEndpointAuthMethod: 'client_secret_basic' },
        },
      ],
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
  else if (m === 'mark') process.send({ mark: Number(process.hrtime.bigint() / 1000n) });
});
process.on('SIGTERM', async () => {
  await stop();
  process.exit(0);
});
process.send({ ready: true });
