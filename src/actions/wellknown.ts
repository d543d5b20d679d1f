/** Published metadata and keys for enrollment servers. */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';

export function openidConfiguration(ctx: Context, deps: AppDeps): void {
  const base = deps.config.server.publicUrl;
  ctx.set('Cache-Control', `public, max-age=${deps.config.keys.jwksMaxAgeSeconds}`);
  ctx.body = {
    issuer: base,
    jwks_uri: `${base}/.well-known/jwks.json`,
    introspection_endpoint: `${base}/introspect`,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic'],
    authorization_endpoint: `${base}/auth`,
    response_modes_supported: ['form_post'],
    id_token_signing_alg_values_supported: [deps.keys.signingKey(deps.clock.now()).alg],
    claims_supported: ['iss', 'aud', 'sub', 'upn', 'email', 'name', 'tid', 'idp', 'amr', 'auth_time', 'iat', 'nbf', 'exp', 'jti', 'login_hint', 'client', 'inv'],
  };
}

export function jwks(ctx: Context, deps: AppDeps): void {
  ctx.set('Cache-Control', `public, max-age=${deps.config.keys.jwksMaxAgeSeconds}`);
  ctx.type = 'application/jwk-set+json';
  ctx.body = JSON.stringify(deps.keys.jwks(deps.clock.now()));
}
