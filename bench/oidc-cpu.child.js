// Child process for bench/oidc-cpu.js, one role per process so each one's CPU time can be
// read on its own: `idp` runs node-oidc-provider (login page, no consent: an admin-consented
// app, as with Entra ID), `fedbridge` runs the compiled service with one oidc tenant.
// Both answer 'cpu' over IPC with process.cpuUsage(). With `hashPasswords` the IdP checks
// the password against an scrypt hash (the parameters of Fedbridge's own local IdP), as any
// real IdP does; without it, it does the protocol work only.
import { serveParent, startFedbridge } from './child-harness.js';

const [role, json] = process.argv.slice(2);
const opts = JSON.parse(json);
let stop = async () => {};

if (role === 'idp') {
  const { default: Provider } = await import('oidc-provider');
  const { exportJWK, generateKeyPair } = await import('jose');
  const { scrypt, randomBytes, timingSafeEqual } = await import('node:crypto');
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const scryptAsync = (pw, salt) => new Promise((res, rej) => scrypt(pw, salt, 32, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (e, k) => (e ? rej(e) : res(k))));
  const salt = randomBytes(16);
  const stored = await scryptAsync('bench-password', salt);
  const passwordOk = async (pw) => !opts.hashPasswords || timingSafeEqual(await scryptAsync(pw, salt), stored);
  const provider = new Provider(`http://127.0.0.1:${opts.port}`, {
    clients: [{ client_id: 'bench', client_secret: opts.secret, redirect_uris: [opts.redirectUri], token_endpoint_auth_method: 'client_secret_basic' }],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'bench', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: ['bench-cookie-key'] },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, preferred_username: id, name: id, tid: 'bench-tid', groups: ['g1'] }) }),
    claims: { openid: ['sub', 'amr', 'tid', 'groups'], profile: ['name', 'preferred_username'] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    responseTypes: ['code'],
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, i) => `/interaction/${i.uid}` },
    // Admin consent given once for the whole directory: no consent page.
    loadExistingGrant: async (ctx) => {
      const { session, client, provider: op } = ctx.oidc;
      if (!session?.accountId) return undefined;
      const existing = session.grantIdFor(client.clientId);
      if (existing) return op.Grant.find(existing);
      const grant = new op.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope('openid profile email');
      session.grantIdFor(client.clientId, await grant.save());
      return grant;
    },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
  });
  // The login page.
  provider.use(async (ctx, next) => {
    const m = /^\/interaction\/([^/]+)$/.exec(ctx.path);
    if (!m) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = `<form method="post" action="/interaction/${m[1]}"><input name="login" value="${details.params.login_hint ?? ''}"><input type="password" name="password"><button>Sign in</button></form>`;
      return;
    }
    const chunks = [];
    for await (const c of ctx.req) chunks.push(c);
    const form = new URLSearchParams(Buffer.concat(chunks).toString());
    const login = form.get('login');
    if (!(await passwordOk(form.get('password') ?? ''))) {
      ctx.status = 401;
      ctx.body = 'wrong password';
      return;
    }
    ctx.status = 303;
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: login, amr: ['pwd'] } }, { mergeWithLastSubmission: false }));
  });
  const server = provider.listen(opts.port, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  stop = async () => new Promise((r) => server.close(r));
} else {
  stop = await startFedbridge(opts.port, { kind: 'oidc', issuer: opts.issuer, clientId: 'bench', clientSecret: opts.secret, tokenEndpointAuthMethod: 'client_secret_basic' }, 'oidc');
}

serveParent(() => stop());
