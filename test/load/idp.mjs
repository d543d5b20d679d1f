// The test IdP with its own login and consent pages, as test/helpers/oidc-provider.ts serves
// them, in plain JavaScript so that processes of their own can run it: the load suite's IdP
// (idp.child.mjs) and the IdP of bench/oidc-pages-cpu.js. Its state store is larger than
// oidc-provider's default: that in-memory adapter keeps interactions, sessions, grants and codes
// in an LRU of 1000 entries per provider, and a window leaves about seven, so a few hundred
// concurrent windows evicted each other's interactions (the IdP's own 400 "interaction session
// not found" pages) and codes (its token endpoint's invalid_grant, shown by Fedbridge as
// upstream_denied).
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';
import { exportJWK, generateKeyPair } from 'jose';

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;

async function readForm(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

/**
 * Starts the IdP on 127.0.0.1:`port`. opts: { port, clients (oidc-provider client metadata,
 * code flow added), users: [{ login, password, claims }] }. Resolves to its node:http server.
 */
export async function startTestIdp(opts) {
  const store = new LRU({ maxSize: 100_000 });
  const issuer = `http://127.0.0.1:${opts.port}`;
  const users = new Map(opts.users.map((u) => [u.login.toLowerCase(), u]));
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(issuer, {
    clients: opts.clients.map((c) => ({ ...c, grant_types: ['authorization_code'], response_types: ['code'] })),
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'test-rs256', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: ['fedbridge-test-cookie-key'] },
    findAccount: (_ctx, id) => {
      const user = users.get(id.toLowerCase());
      if (!user) return undefined;
      return { accountId: id, claims: () => ({ sub: `sub-${user.login}`, preferred_username: user.login, name: `User ${user.login}`, ...user.claims }) };
    },
    claims: { openid: ['sub', 'acr', 'amr', 'tid', 'oid', 'groups', 'hasgroups'], profile: ['name', 'preferred_username'], email: ['email'] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    responseTypes: ['code'],
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    adapter: (model) => new MemoryAdapter(model, store),
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error', err));

  provider.use(async (ctx, next) => {
    const m = /^\/interaction\/([^/]+)(?:\/(login|consent|abort))?$/.exec(ctx.path);
    if (!m) return next();
    const [, uid, action] = m;
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const finish = async (result, merge = false) => {
      ctx.status = 303;
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge }));
    };
    const show = (title, body) => {
      ctx.type = 'html';
      ctx.body = page(title, `${body}<p><a href="/interaction/${uid}/abort">Cancel</a></p>`);
    };
    if (action === 'abort') return finish({ error: 'access_denied', error_description: 'End-User aborted interaction' });
    if (ctx.method === 'GET' && details.prompt.name === 'login') {
      return show('Sign in', `<form method="post" action="/interaction/${uid}/login"><input name="login" value="${escapeHtml(details.params.login_hint ?? '')}"><input type="password" name="password"><button type="submit">Sign in</button></form>`);
    }
    if (ctx.method === 'GET' && details.prompt.name === 'consent') {
      return show('Allow access', `<form method="post" action="/interaction/${uid}/consent"><button type="submit">Accept</button></form>`);
    }
    if (ctx.method === 'POST' && action === 'login') {
      const form = await readForm(ctx.req);
      const user = users.get((form.get('login') ?? '').toLowerCase());
      if (!user || form.get('password') !== user.password) return show('Sign in', '<p class="error">Wrong login or password</p>');
      return finish({ login: { accountId: user.login, amr: ['pwd'], acr: 'urn:test:pwd' } });
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
  await new Promise((resolve) => server.once('listening', resolve));
  return server;
}
