/**
 * The authorization request: code flow with PKCE (S256) and a nonce. `state` is the
 * transaction key itself, so the callback finds the sign-in from the IdP's answer alone
 * (the device window may have dropped every cookie by then).
 */
import { createHash } from 'node:crypto';
import { buildAuthorizationUrl, randomNonce, randomPKCECodeVerifier, type Configuration } from 'openid-client';
import type { OidcIdpConfig } from './config.js';
import type { Transaction } from '../../store/types.js';
import type { Begin, TenantBasics } from '../types.js';

/** RFC 7636 S256, synchronously (openid-client's version goes through WebCrypto's thread pool). */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export function redirectUriFor(publicUrl: string): string {
  return `${publicUrl}/callback/oidc`;
}

function scopeOf(cfg: OidcIdpConfig): string {
  return (cfg.scopes.includes('openid') ? cfg.scopes : ['openid', ...cfg.scopes]).join(' ');
}

/**
 * What the tenant's MFA policy asks of the provider: acr_values as configured and, with
 * `mfaAcr`, an essential claims request for it, as `acr` (OpenID) and as `acrs` (Entra ID's
 * Conditional Access authentication context; its v2.0 ID tokens carry no amr). Providers
 * ignore what they do not know; the policy check on the answer is what counts.
 */
function mfaParams(cfg: OidcIdpConfig, requireMfa: boolean): Record<string, string> {
  if (!requireMfa) return {};
  const out: Record<string, string> = {};
  if (cfg.acrValues) out.acr_values = cfg.acrValues;
  if (cfg.mfaAcr) {
    out.claims = JSON.stringify({
      id_token: { acr: { essential: true, values: [cfg.mfaAcr] }, acrs: { essential: true, value: cfg.mfaAcr } },
    });
  }
  return out;
}

export interface BeginContext {
  tenant: TenantBasics;
  cfg: OidcIdpConfig;
  config: Configuration;
  publicUrl: string;
}

export async function beginAuthorization(tx: Transaction, ctx: BeginContext): Promise<Begin> {
  const { cfg } = ctx;
  const codeVerifier = randomPKCECodeVerifier();
  const nonce = randomNonce();
  const hint = tx.loginHint ?? tx.enteredEmail;
  const params: Record<string, string> = {
    redirect_uri: redirectUriFor(ctx.publicUrl),
    response_type: 'code',
    scope: scopeOf(cfg),
    state: tx.state,
    nonce,
    code_challenge: pkceChallenge(codeVerifier),
    code_challenge_method: 'S256',
    ...(cfg.responseMode === 'form_post' ? { response_mode: 'form_post' } : {}),
    ...(hint ? { login_hint: hint } : {}),
    ...(cfg.domainHint ? { domain_hint: cfg.domainHint } : {}),
    ...(cfg.prompt ? { prompt: cfg.prompt } : {}),
    ...mfaParams(cfg, ctx.tenant.policy.requireMfa),
  };
  const url = buildAuthorizationUrl(ctx.config, params);
  return { kind: 'redirect', url: url.href, keep: { nonce, codeVerifier } };
}
