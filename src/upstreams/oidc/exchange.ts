/**
 * The code exchange and the ID token checks, all by openid-client: PKCE verifier, state,
 * nonce, iss, aud/azp, exp/nbf, alg (none and HS* refused) and the signature against the
 * provider's JWKS.
 *
 * The token endpoint's answer is kept while the exchange runs, so that it can be validated
 * again without spending the code twice, in two cases:
 *  - a multi-tenant issuer: openid-client checks iss against the one issuer of its
 *    Configuration, but the right issuer depends on the token's own tid. The first pass,
 *    against the template, cannot accept anything; the second validates the same answer in
 *    full against the issuer of that tid (checkTenant then confirms both and the allow-list).
 *  - an unknown kid: the provider rotated its keys since we fetched them; rediscover (fresh
 *    JWKS) and validate again.
 */
import { authorizationCodeGrant, type CustomFetch, type CustomFetchOptions } from 'openid-client';
import type { OidcIdpConfig } from './config.js';
import type { Transaction } from '../../store/types.js';
import { FedbridgeError, badRequest } from '../../errors.js';
import type { Discovered, DiscoveryCache } from './discovery.js';
import { exchangeError, isUnknownKey } from './errors.js';
import { toResponse, type Answer, type RequestOptions } from '../http.js';
import { isPlausibleTid, issuerForTenant } from './issuer.js';
import type { IdTokenClaims } from './claims.js';

/**
 * The fetch of every Configuration of an upstream. A token request made again (same code and
 * PKCE verifier: only the exchange that made it can repeat it) gets the kept answer instead
 * of going out; the exchange forgets it when it ends.
 */
export class TokenAnswers {
  private readonly kept = new Map<string, Answer>();

  constructor(
    private readonly timeoutMs: number,
    private readonly http: (url: string, options: RequestOptions, timeoutMs: number) => Promise<Answer>,
  ) {}

  static key(code: string, verifier: string): string {
    return `${code}\n${verifier}`;
  }

  readonly fetch: CustomFetch = async (url, options) => {
    const key = this.keyOf(options);
    const kept = key === null ? undefined : this.kept.get(key);
    if (kept) return toResponse(kept);
    const answer = await this.http(url, options, this.timeoutMs);
    // Only a token response is worth validating again; an OAuth error answer is final.
    if (key !== null && answer.status === 200) this.kept.set(key, answer);
    return toResponse(answer);
  };

  has(key: string): boolean {
    return this.kept.has(key);
  }

  /**
   * Whether the kept answer is a JSON object at all. One that is not (cut, HTML, garbage) is the
   * provider failing, not an ID token we refused: upstream_error, not upstream_invalid_token
   * (docs/errors.md).
   */
  readable(key: string): boolean {
    try {
      const json: unknown = JSON.parse(Buffer.from(this.kept.get(key)?.body ?? []).toString());
      return typeof json === 'object' && json !== null && !Array.isArray(json);
    } catch {
      return false;
    }
  }

  forget(key: string): void {
    this.kept.delete(key);
  }

  /** The tid the kept ID token claims, unverified: only to pick the issuer it must then prove. */
  claimedTid(key: string): string {
    let tid: unknown;
    try {
      const json = JSON.parse(Buffer.from(this.kept.get(key)!.body!).toString()) as { id_token?: string };
      tid = JSON.parse(Buffer.from(String(json.id_token).split('.')[1] ?? '', 'base64url').toString()).tid;
    } catch {
      tid = undefined;
    }
    if (!isPlausibleTid(tid)) throw new FedbridgeError(502, 'upstream_invalid_token', 'multi-tenant ID token without a usable tid');
    return tid;
  }

  private keyOf(options: CustomFetchOptions): string | null {
    const body = options.body;
    if (options.method !== 'POST' || !(body instanceof URLSearchParams) || body.get('grant_type') !== 'authorization_code') return null;
    return TokenAnswers.key(body.get('code') ?? '', body.get('code_verifier') ?? '');
  }
}

export interface ExchangeContext {
  cfg: OidcIdpConfig;
  cache: DiscoveryCache;
  answers: TokenAnswers;
  redirectUri: string;
}

/** The callback address as the provider called it: openid-client derives redirect_uri from it. */
function callbackUrl(redirectUri: string, params: Record<string, string>, withIss: boolean): URL {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (withIss || k !== 'iss') url.searchParams.set(k, v);
  return url;
}

export async function exchangeCode(
  ctx: ExchangeContext,
  tx: Transaction,
  params: Record<string, string>,
): Promise<{ claims: IdTokenClaims; template: string | null }> {
  const { nonce, codeVerifier } = tx.upstream;
  if (!nonce || !codeVerifier) throw badRequest('unknown_state', 'transaction has no OIDC request data');
  const checks = { pkceCodeVerifier: codeVerifier, expectedNonce: nonce, expectedState: tx.state, idTokenExpected: true };
  const key = TokenAnswers.key(params.code, codeVerifier);
  const allowed = new Set(ctx.cfg.allowedTenantIds.map((t) => t.toLowerCase()));
  let d: Discovered = await ctx.cache.get();
  let tenant: { issuer: string; tid: string } | null = null;
  let rediscovered = false;

  try {
    for (;;) {
      // First pass on a template: no issuer can match yet, so the RFC 9207 `iss` response
      // parameter is left to the second pass, which checks it against the tenant's issuer.
      const probe = d.template !== null && tenant === null;
      const config = d.configs.get({ probe, issuer: tenant?.issuer, keep: !tenant || allowed.has(tenant.tid.toLowerCase()) });
      try {
        const tokens = await authorizationCodeGrant(config, callbackUrl(ctx.redirectUri, params, !probe), checks);
        return { claims: tokens.claims() as IdTokenClaims, template: d.template };
      } catch (err) {
        if (!ctx.answers.has(key)) throw exchangeError(err);
        if (!ctx.answers.readable(key)) throw new FedbridgeError(502, 'upstream_error', 'token endpoint answered 200 with a body that is not a JSON object');
        if (probe) {
          const tid = ctx.answers.claimedTid(key);
          tenant = { tid, issuer: issuerForTenant(d.template!, tid) };
          continue;
        }
        if (isUnknownKey(err) && !rediscovered) {
          rediscovered = true;
          const fresh = await ctx.cache.refreshForUnknownKey();
          if (fresh && fresh.template === d.template) {
            d = fresh;
            continue;
          }
        }
        throw exchangeError(err);
      }
    }
  } finally {
    ctx.answers.forget(key);
  }
}
