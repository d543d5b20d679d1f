/**
 * The provider's discovery document, per upstream: fetched on first use, refreshed in the
 * background once an hour (the old copy keeps serving if the refresh fails), and again when
 * an ID token names a key we do not have (the provider rotated; at most once a minute, so
 * forged tokens cannot make us hammer it).
 */
import type { Logger } from 'pino';
import { allowInsecureRequests, customFetch, discovery, type ServerMetadata } from 'openid-client';
import { checkSecureUrl } from '../../config/urls.js';
import { FedbridgeError } from '../../errors.js';
import { Configurations, type ClientContext } from './client.js';
import { discoveryUrl, isLoopbackHttp, matchDiscoveredIssuer } from './issuer.js';
import { ownError } from './errors.js';

export const REFRESH_AFTER_MS = 60 * 60_000;
export const UNKNOWN_KEY_COOLDOWN_MS = 60_000;
/** After a failed background refresh, the next try waits this long. */
const RETRY_AFTER_MS = 60_000;

export interface Discovered {
  metadata: ServerMetadata;
  /** The issuer template of a multi-tenant endpoint (`…/{tenantid}/v2.0`), else null. */
  template: string | null;
  fetchedAt: number;
  /** Configurations for this document; each keeps the JWKS it fetched (a new document, new JWKS). */
  configs: Configurations;
}

const bad = (detail: string) => new FedbridgeError(502, 'upstream_error', detail);

export async function discover(ctx: ClientContext): Promise<Discovered> {
  const { cfg } = ctx;
  // Fetched by its address, so openid-client does not compare issuers (a multi-tenant
  // document would fail that); matchDiscoveredIssuer below does, templates included.
  const url = discoveryUrl(cfg.issuer);
  let metadata: ServerMetadata;
  try {
    const found = await discovery(url, cfg.clientId, undefined, undefined, {
      [customFetch]: ctx.fetch,
      execute: isLoopbackHttp(cfg.issuer) ? [allowInsecureRequests] : [],
    });
    metadata = found.serverMetadata();
  } catch (err) {
    throw ownError(err) ?? bad(`discovery at ${url.href} failed: ${(err as Error).message}`);
  }
  const template = matchDiscoveredIssuer(cfg.issuer, metadata.issuer);
  if (template === undefined) throw bad(`discovery names issuer ${metadata.issuer}, configured ${cfg.issuer}`);
  for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
    const value = metadata[key];
    if (typeof value !== 'string') throw bad(`discovery document has no ${key}`);
    // The same rule as the config: https, or http on loopback only.
    const problem = checkSecureUrl(value);
    if (problem) throw bad(`discovery ${key} ${problem}`);
  }
  return { metadata, template, fetchedAt: ctx.now(), configs: new Configurations(ctx, metadata) };
}

export class DiscoveryCache {
  private current: Discovered | null = null;
  private pending: Promise<Discovered> | null = null;
  private lastForcedAt = Number.NEGATIVE_INFINITY;
  private lastTriedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly load: () => Promise<Discovered>,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  async get(): Promise<Discovered> {
    const current = this.current;
    if (!current) return this.refresh();
    const now = this.now();
    if (now - current.fetchedAt >= REFRESH_AFTER_MS && now - this.lastTriedAt >= RETRY_AFTER_MS) {
      this.lastTriedAt = now;
      this.refresh().catch((err) => this.log.warn({ code: (err as FedbridgeError).code, detail: (err as Error).message }, 'oidc discovery refresh failed; keeping the old document'));
    }
    return current;
  }

  /** One fetch at a time; every caller waiting meanwhile gets its result. */
  refresh(): Promise<Discovered> {
    this.pending ??= this.load()
      .then((d) => (this.current = d))
      .finally(() => (this.pending = null));
    return this.pending;
  }

  /** An ID token named an unknown key: rediscover (new JWKS too), unless we just did. */
  async refreshForUnknownKey(): Promise<Discovered | null> {
    if (this.now() - this.lastForcedAt < UNKNOWN_KEY_COOLDOWN_MS) return null;
    this.lastForcedAt = this.now();
    return this.refresh();
  }
}
