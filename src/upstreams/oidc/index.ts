/**
 * The `oidc` kind: Entra ID (single- or multi-tenant), AD FS, or any OpenID provider.
 * begin → authorization request (code + PKCE + nonce, state = the transaction key);
 * complete → callback errors, code exchange, ID token checks, tenant rule, Identity.
 */
import { FedbridgeError, badRequest } from '../../errors.js';
import { defineKind } from '../types.js';
import { beginAuthorization, redirectUriFor } from './begin.js';
import { identityFromClaims } from './claims.js';
import type { ClientContext } from './client.js';
import { oidcRules, oidcSchema } from './config.js';
import { DiscoveryCache, discover, type Discovered } from './discovery.js';
import { callbackError } from './errors.js';
import { TokenAnswers, exchangeCode, type ExchangeContext } from './exchange.js';
import { checkTenant, discoveryUrl } from './issuer.js';

/** Query and form_post answers are small; 64 KiB leaves room for long error descriptions. */
const MAX_CALLBACK_BODY = 64 * 1024;

export const oidcKind = defineKind({
  kind: 'oidc',
  schema: oidcSchema,
  rules: oidcRules,
  returnRoutes: [{ path: '/callback/oidc', methods: ['GET', 'POST'], stateParam: 'state', maxBodyBytes: MAX_CALLBACK_BODY }],
  create(tenant, cfg, deps) {
    const id = cfg.id ?? `${tenant.id}-oidc`;
    const answers = new TokenAnswers(cfg.timeoutMs, deps.http);
    const client: ClientContext = { cfg, keys: deps.keys, now: deps.now, fetch: answers.fetch };
    const cache = new DiscoveryCache(() => discover(client), deps.now, deps.log.child({ idp: id }));
    const exchange: ExchangeContext = { cfg, cache, answers, redirectUri: redirectUriFor(deps.publicUrl) };

    async function discovered(): Promise<Discovered> {
      const d = await cache.get();
      if (d.template && cfg.allowedTenantIds.length === 0) {
        // Accepting every Entra directory would let anyone with a Microsoft account in.
        throw new FedbridgeError(500, 'server_error', `tenant ${tenant.id}: multi-tenant issuer ${d.template} needs idp.allowedTenantIds`);
      }
      return d;
    }

    return {
      kind: 'oidc',
      id,
      async begin(tx) {
        let d = await discovered();
        // docs/operations.md: while the IdP's circuit is open (its token endpoint or discovery
        // unreachable), /auth fails fast rather than redirect there; after the cool-down, fetching
        // the discovery document again is the probe that closes it.
        if (deps.circuits) {
          await deps.circuits.admit(discoveryUrl(cfg.issuer).href, () => cache.refresh());
          d = await discovered(); // the probe's fresh document, if it ran
          if (d.metadata.token_endpoint) await deps.circuits.admit(d.metadata.token_endpoint);
        }
        return beginAuthorization(tx, { tenant, cfg, config: d.configs.get(), publicUrl: deps.publicUrl });
      },
      async complete(tx, { params }) {
        const refused = callbackError(params);
        if (refused) throw refused;
        if (!params.code) throw badRequest('invalid_request', 'callback has neither code nor error');
        await discovered();
        const { claims, template } = await exchangeCode(exchange, tx, params);
        checkTenant(claims, template, cfg.allowedTenantIds);
        return identityFromClaims(claims, { cfg, idpId: id, now: deps.now() });
      },
    };
  },
});
