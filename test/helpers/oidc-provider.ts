/**
 * A real OpenID provider for the tests: node-oidc-provider on 127.0.0.1, set up like Entra ID
 * as far as it goes (tid/oid/groups/preferred_username in the ID token, PKCE required,
 * RS256, groups overage as distributed claims), with small login / MFA / consent pages of its
 * own so a sign-in can report amr. Plus `driveSignIn`: plays the device window over HTTP.
 */
import type { IncomingMessage } from 'node:http';
import type { Server } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import { forms, hiddenValue } from './html.js';

/** The little of oidc-provider's API used here (it ships no type declarations). */
interface Interaction {
  uid: string;
  prompt: { name: string; details: Record<string, unknown> };
  params: Record<string, string>;
  session?: { accountId?: string };
  grantId?: string;
  lastSubmission?: Record<string, unknown>;
}
interface Grant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}
interface KoaLike {
  method: string;
  path: string;
  req: IncomingMessage;
  res: unknown;
  status: number;
  type: string;
  body: unknown;
  redirect(url: string): void;
}
interface ProviderInstance {
  issuer: string;
  use(mw: (ctx: KoaLike, next: () => Promise<void>) => Promise<void>): void;
  listen(port: number, host: string): Server;
  on(event: string, fn: (...args: unknown[]) => void): void;
  interactionDetails(req: unknown, res: unknown): Promise<Interaction>;
  interactionResult(req: unknown, res: unknown, result: Record<string, unknown>, opts?: { mergeWithLastSubmission?: boolean }): Promise<string>;
  Grant: { new (args: { accountId: string; clientId: string }): Grant; find(id: string): Promise<Grant | undefined> };
}
type ProviderCtor = new (issuer: string, config: Record<string, unknown>) => ProviderInstance;

export interface ProviderUser {
  /** The login name typed on the login page (also preferred_username). */
  login: string;
  password: string;
  /** Extra ID token claims (tid, groups, _claim_names, email...). */
  claims?: Record<string, unknown>;
  /** When set, a second page asks for this code and the sign-in reports amr pwd+mfa. */
  mfaCode?: string;
  /** The acr the sign-in reports (default urn:test:pwd, or urn:test:mfa after the code). */
  acr?: string;
}

export interface ProviderClient {
  client_id: string;
  client_secret?: string;
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  redirect_uris: string[];
  jwks_uri?: string;
}

export interface TestProvider {
  issuer: string;
  close(): Promise<void>;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

export async function startOidcProvider(opts: { port: number; clients: ProviderClient[]; users: ProviderUser[] }): Promise<TestProvider> {
  // Untyped package; see the interfaces above.
  const { default: Provider } = (await import('oidc-provider' as string)) as { default: ProviderCtor };
  const issuer = `http://127.0.0.1:${opts.port}`;
  const users = new Map(opts.users.map((u) => [u.login.toLowerCase(), u]));
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

  const provider = new Provider(issuer, {
    clients: opts.clients.map((c) => ({ ...c, grant_types: ['authorization_code'], response_types: ['code'] })),
    jwks: { keys: [signingKey] },
    cookies: { keys: ['fedbridge-test-cookie-key'] },
    findAccount: (_ctx: unknown, id: string) => {
      const user = users.get(id.toLowerCase());
      if (!user) return undefined;
      return {
        accountId: id,
        claims: () => ({ sub: `sub-${user.login}`, preferred_username: user.login, name: `User ${user.login}`, ...user.claims }),
      };
    },
    // Entra puts these in the ID token itself (not only at userinfo).
    claims: {
      openid: ['sub', 'acr', 'amr', 'tid', 'oid', 'groups', 'hasgroups'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
    },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    responseTypes: ['code'],
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    // Its SSRF guard refuses loopback addresses, where Fedbridge's JWKS (private_key_jwt) lives here.
    fetch: (url: string, { dispatcher: _guard, ...options }: RequestInit & { dispatcher?: unknown }) => fetch(url, options),
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error', err));

  // The provider's own sign-in pages: login, then an MFA code when the user has one, then consent.
  provider.use(async (ctx, next) => {
    const m = /^\/interaction\/([^/]+)(?:\/(login|mfa|consent|abort))?$/.exec(ctx.path);
    if (!m) return next();
    const [, uid, action] = m;
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const finish = async (result: Record<string, unknown>, merge = false) => {
      ctx.status = 303;
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge }));
    };
    const show = (title: string, body: string) => {
      ctx.type = 'html';
      ctx.body = page(title, `${body}<p><a href="/interaction/${uid}/abort">Cancel</a></p>`);
    };

    if (action === 'abort') return finish({ error: 'access_denied', error_description: 'End-User aborted interaction' });
    if (ctx.method === 'GET' && details.prompt.name === 'login') {
      return show(
        'Sign in',
        `<form method="post" action="/interaction/${uid}/login">` +
          `<input name="login" value="${escapeHtml(details.params.login_hint ?? '')}">` +
          `<input type="password" name="password"><button type="submit">Sign in</button></form>`,
      );
    }
    if (ctx.method === 'GET' && details.prompt.name === 'consent') {
      return show('Allow access', `<form method="post" action="/interaction/${uid}/consent"><button type="submit">Accept</button></form>`);
    }
    if (ctx.method === 'POST' && action === 'login') {
      const form = await readForm(ctx.req);
      const user = users.get((form.get('login') ?? '').toLowerCase());
      if (!user || form.get('password') !== user.password) return show('Sign in', '<p class="error">Wrong login or password</p>');
      if (user.mfaCode) {
        return show(
          'Verify',
          `<form method="post" action="/interaction/${uid}/mfa"><input type="hidden" name="login" value="${escapeHtml(user.login)}">` +
            `<input name="code"><button type="submit">Verify</button></form>`,
        );
      }
      return finish({ login: { accountId: user.login, amr: ['pwd'], acr: user.acr ?? 'urn:test:pwd' } });
    }
    if (ctx.method === 'POST' && action === 'mfa') {
      const form = await readForm(ctx.req);
      const user = users.get((form.get('login') ?? '').toLowerCase());
      if (!user || form.get('code') !== user.mfaCode) return show('Verify', '<p class="error">Wrong code</p>');
      return finish({ login: { accountId: user.login, amr: ['pwd', 'mfa'], acr: user.acr ?? 'urn:test:mfa' } });
    }
    if (ctx.method === 'POST' && action === 'consent') {
      const { prompt, params, session, grantId } = details;
      const grant = (grantId && (await provider.Grant.find(grantId))) || new provider.Grant({ accountId: session!.accountId!, clientId: params.client_id });
      const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      return finish({ consent: { grantId: await grant.save() } }, true);
    }
    ctx.status = 400;
    ctx.body = 'unexpected interaction step';
  });

  const server = provider.listen(opts.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  return {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

/** A minimal cookie jar (everything here is on 127.0.0.1, where cookies ignore the port). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
  }
}

export interface SignInResult {
  /** Fedbridge's final answer (the wresult page or an error page). */
  res: Response;
  html: string;
  token: string | null;
  /** The callback Fedbridge received (to replay it). */
  callback: { method: 'GET' | 'POST'; url: string; body?: URLSearchParams };
  /** The authorization request Fedbridge sent the window to. */
  authorizeUrl: URL;
}

export interface DriveOptions {
  login: string;
  password: string;
  mfaCode?: string;
  /** Press Cancel on the provider's login page instead of signing in. */
  cancel?: boolean;
  /** Return the callback without delivering it to Fedbridge (res is the provider's answer). */
  stopAtCallback?: boolean;
}

/**
 * Plays the device window over HTTP: follows redirects, answers the provider's pages by
 * posting their forms, and stops at the first Fedbridge page after the callback.
 */
export async function driveSignIn(serviceUrl: string, authUrl: string, o: DriveOptions): Promise<SignInResult> {
  const jar = new CookieJar();
  const go = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: jar.header() } });
    jar.take(res);
    return res;
  };
  let res = await go(authUrl);
  const authorizeUrl = new URL(res.headers.get('location') ?? 'about:blank');
  let url = authUrl;
  let callback: SignInResult['callback'] | null = null;

  for (let steps = 0; steps < 20; steps++) {
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url).href;
      if (url.startsWith(`${serviceUrl}/callback/`)) {
        callback = { method: 'GET', url };
        if (o.stopAtCallback) return { res, html: '', token: null, callback, authorizeUrl };
      }
      res = await go(url);
      continue;
    }
    const html = await res.text();
    if (callback || url.startsWith(serviceUrl)) {
      return { res, html, token: hiddenValue(html, 'wresult'), callback: callback ?? { method: 'GET', url }, authorizeUrl };
    }
    // A provider page: the form_post answer, or one of its sign-in pages.
    const form = forms(html)[0];
    if (!form) throw new Error(`no form on ${url} (status ${res.status}): ${html.slice(0, 300)}`);
    const action = new URL(form.action || url, url).href;
    if (o.cancel && /\/interaction\//.test(url)) {
      res = await go(new URL(/href="([^"]*\/abort)"/.exec(html)![1], url).href);
      continue;
    }
    const body = new URLSearchParams();
    for (const name of form.names) body.set(name, hiddenValue(html, name) ?? '');
    if (/\/interaction\//.test(action)) {
      if (body.has('password')) body.set('password', o.password);
      if (body.has('login')) body.set('login', o.login);
      if (body.has('code')) body.set('code', o.mfaCode ?? '');
    }
    if (action.startsWith(`${serviceUrl}/callback/`)) {
      callback = { method: 'POST', url: action, body };
      if (o.stopAtCallback) return { res, html, token: null, callback, authorizeUrl };
    }
    url = action;
    res = await go(action, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }
  throw new Error('sign-in did not end within 20 steps');
}

/** Sends a recorded callback again (replay tests). */
export function replayCallback(cb: SignInResult['callback']): Promise<Response> {
  return cb.method === 'GET'
    ? fetch(cb.url, { redirect: 'manual' })
    : fetch(cb.url, { method: 'POST', body: cb.body, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
}
