/** Demo mode's "play the device" pages: GET / and POST /demo/device (README, Demo mode). */
import type { Context } from 'koa';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { AppDeps } from '../http/deps.js';
import { audienceResolver, pinSnapshot } from '../http/deps.js';
import { sendPage } from '../http/respond.js';
import { verifyFedbridgeToken } from '../tokens/verify.js';
import { notFound } from '../errors.js';
import { DEMO_CLIENT, DEMO_PASSWORD } from '../config/demo.js';

export function home(ctx: Context, deps: AppDeps): void {
  const base = deps.config.server.publicUrl;
  const appru = `${base}/demo/device`;
  const link = (hint?: string) => `${base}/auth?appru=${encodeURIComponent(appru)}${hint ? `&login_hint=${encodeURIComponent(hint)}` : ''}`;
  sendPage(ctx, deps, 'home', {
    data: {
      demo: deps.config.demo,
      links: deps.config.demo
        ? [
            { label: 'alice@example.com', href: link('alice@example.com') },
            { label: 'bob@example.com', href: link('bob@example.com') },
            { label: null, href: link() },
          ]
        : [],
      password: DEMO_PASSWORD,
      client: DEMO_CLIENT,
      issuer: base,
    },
  });
}

export async function device(ctx: Context, deps: AppDeps): Promise<void> {
  deps = pinSnapshot(deps); // one tenant snapshot for the whole request
  if (!deps.config.demo) throw notFound('not_found', 'demo pages exist only in demo mode');
  const wresult = (ctx.request.body as Record<string, unknown> | undefined)?.wresult;
  const token = typeof wresult === 'string' ? wresult : '';
  let header: unknown = null;
  let claims: unknown = null;
  try {
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    /* shown as undecodable */
  }
  const now = deps.clock.now();
  const check = await verifyFedbridgeToken(token, {
    keys: deps.keys.verifier(now),
    issuer: deps.config.server.publicUrl,
    now,
    audienceFor: audienceResolver(deps.config),
    maxLifetimeSeconds: deps.config.tokens.ttlSeconds,
  });
  sendPage(ctx, deps, 'device', {
    status: token ? 200 : 400,
    data: {
      received: token.length > 0,
      verified: check.ok,
      reason: check.ok ? null : `${check.error}: ${check.description}`,
      header: header ? JSON.stringify(header, null, 2) : null,
      claims: claims ? JSON.stringify(claims, null, 2) : null,
      bst: token ? Buffer.from(token).toString('base64') : null,
    },
  });
}
