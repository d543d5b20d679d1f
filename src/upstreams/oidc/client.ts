/**
 * openid-client Configurations for one upstream, built once per discovery document and
 * issuer and then reused: openid-client keeps the provider's JWKS (and the imported keys)
 * per Configuration, so a fresh one per sign-in would import them every time.
 */
import {
  ClientSecretBasic,
  ClientSecretPost,
  Configuration,
  PrivateKeyJwt,
  allowInsecureRequests,
  customFetch,
  enableNonRepudiationChecks,
  modifyAssertion,
  type ClientAuth,
  type CustomFetch,
  type ServerMetadata,
} from 'openid-client';
import type { OidcIdpConfig } from './config.js';
import type { KeyRing } from '../../tokens/keys.js';
import { isLoopbackHttp } from './issuer.js';

export interface ClientContext {
  cfg: OidcIdpConfig;
  keys: KeyRing;
  now: () => number;
  /** For every request of every Configuration (deadline, size cap, token answers kept). */
  fetch: CustomFetch;
}

/**
 * private_key_jwt signs with the service's signing key of the moment (rotation-safe), whose
 * public half is already in `<publicUrl>/.well-known/jwks.json`: register that URL at the
 * provider, nothing else to publish. aud is the token endpoint, the value Entra ID and AD FS
 * require and RFC 7523 allows.
 */
function clientAuth(ctx: ClientContext, metadata: ServerMetadata): ClientAuth {
  const { cfg } = ctx;
  switch (cfg.tokenEndpointAuthMethod) {
    case 'client_secret_post':
      return ClientSecretPost(cfg.clientSecret);
    case 'client_secret_basic':
      return ClientSecretBasic(cfg.clientSecret);
    case 'private_key_jwt': {
      const aud = { [modifyAssertion]: (_h: unknown, payload: Record<string, unknown>) => void (payload.aud = metadata.token_endpoint) };
      return (as, client, body, headers) => {
        const key = ctx.keys.signingKey(ctx.now());
        return PrivateKeyJwt({ key: key.privateKey, kid: key.kid }, aud)(as, client, body, headers);
      };
    }
  }
}

/** ID token exp/nbf are judged by the host's clock, like the provider that minted them. */
function build(ctx: ClientContext, metadata: ServerMetadata): Configuration {
  const { cfg } = ctx;
  const config = new Configuration(metadata, cfg.clientId, undefined, clientAuth(ctx, metadata));
  config[customFetch] = ctx.fetch;
  // Only for loopback issuers: the config refuses every other http:// issuer.
  if (isLoopbackHttp(cfg.issuer)) allowInsecureRequests(config);
  // The ID token's signature is checked too, not only TLS to the token endpoint.
  enableNonRepudiationChecks(config);
  return config;
}

/** Tenant issuers of a multi-tenant template kept at most (the allowed directories). */
const MAX_CACHED = 64;

export class Configurations {
  private readonly cache = new Map<string, Configuration>();

  constructor(
    private readonly ctx: ClientContext,
    private readonly metadata: ServerMetadata,
  ) {}

  /**
   * The Configuration expecting `issuer` (default: the discovered one). `probe` leaves the
   * RFC 9207 `iss` response parameter unchecked (multi-tenant first pass, see exchange.ts).
   */
  get(opts: { issuer?: string; probe?: boolean; keep?: boolean } = {}): Configuration {
    const key = opts.probe ? '(probe)' : (opts.issuer ?? '');
    const cached = this.cache.get(key);
    if (cached) return cached;
    const metadata: ServerMetadata = opts.probe
      ? { ...this.metadata, authorization_response_iss_parameter_supported: false }
      : { ...this.metadata, issuer: opts.issuer ?? this.metadata.issuer };
    const config = build(this.ctx, metadata);
    if (opts.keep !== false && this.cache.size < MAX_CACHED) this.cache.set(key, config);
    return config;
  }
}
