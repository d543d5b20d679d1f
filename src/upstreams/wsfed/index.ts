/**
 * The `wsfed` kind: WS-Federation passive sign-in (AD FS `/adfs/ls/`, SimpleSAMLphp's adfs
 * module). begin → redirect with wa=wsignin1.0, wtrealm, wreply, wctx = our transaction;
 * complete → the posted `wresult` (a WS-Trust 2005/02 RSTR or 1.3 collection holding a SAML 1.1
 * or 2.0 assertion) through the shared strict validator (docs/assertions.md).
 */
import { checkSecureUrl } from '../../config/urls.js';
import { badRequest, FedbridgeError } from '../../errors.js';
import { identityFromAssertion, readWsFedMetadata, validateAssertion, type WsFedMetadata } from '../assertion/index.js';
import { fetchMetadataText, MetadataSource } from '../metadata.js';
import { assertionReplayCache } from '../replay.js';
import { defineKind } from '../types.js';
import { wsfedSchema } from './config.js';

/** AD FS answers are a few KiB; SAML answers with many groups reach 100+ KiB (README, The sign-in flow: at least 256 KiB). */
export const MAX_WSFED_ANSWER = 512 * 1024;
/**
 * The posted form carries `wresult` percent-encoded: about 1.3 times its size for an AD FS
 * answer, three times at worst. The body limit lets every answer the validator could accept
 * reach it; a larger body is refused (413) before it is parsed.
 */
export const MAX_WSFED_BODY = 3 * MAX_WSFED_ANSWER + 16 * 1024;

export const wsfedKind = defineKind({
  kind: 'wsfed',
  schema: wsfedSchema,
  returnRoutes: [{ path: '/wsfed/:tenant', methods: ['POST'], stateParam: 'wctx', maxBodyBytes: MAX_WSFED_BODY }],
  create(tenant, cfg, deps) {
    const id = cfg.id ?? `${tenant.id}-wsfed`;
    const reply = `${deps.publicUrl}/wsfed/${tenant.id}`;
    const realm = cfg.realm ?? reply;
    const log = deps.log.child({ idp: id });
    const metadata = new MetadataSource<WsFedMetadata>(
      async () => readWsFedMetadata(await fetchMetadataText(deps, cfg.metadataUrl, cfg.timeoutMs)),
      deps.now,
      log,
    );
    const seen = assertionReplayCache(deps.store, `wsfed\n${tenant.id}`, deps.now);

    async function validate(wresult: string, md: WsFedMetadata) {
      return validateAssertion(wresult, {
        certificates: md.signingCertificates,
        audience: realm,
        // The STS names itself in every assertion as in its metadata (AD FS: the federation
        // service identifier, SimpleSAMLphp: urn:federation:<host>:idp), never the metadata URL.
        issuer: md.entityId,
        // A SAML 2.0 SubjectConfirmationData Recipient, when there is one, is where we asked the answer to go.
        recipient: reply,
        seen,
        now: deps.now,
        clockSkewSeconds: cfg.clockSkewSeconds,
        maxBytes: MAX_WSFED_ANSWER,
      });
    }

    return {
      kind: 'wsfed',
      id,
      async begin(tx) {
        const md = await metadata.get();
        const endpoint = cfg.endpoint ?? md.passiveEndpoint;
        if (!endpoint) throw new FedbridgeError(502, 'upstream_error', 'federation metadata names no passive endpoint; set idp.endpoint');
        // Where people are sent must meet the rule for configured URLs (docs/configuration.md: https, http
        // only on loopback), whether it was configured or read from the metadata.
        if (checkSecureUrl(endpoint) !== null) {
          throw new FedbridgeError(502, 'upstream_error', 'the passive endpoint of the federation metadata is not an https:// URL; set idp.endpoint');
        }
        const url = new URL(endpoint);
        url.searchParams.set('wa', 'wsignin1.0');
        url.searchParams.set('wtrealm', realm);
        url.searchParams.set('wreply', reply);
        url.searchParams.set('wctx', tx.state);
        if (cfg.forceAuthn) url.searchParams.set('wfresh', '0');
        const hint = tx.loginHint ?? tx.enteredEmail;
        // AD FS pre-fills its forms sign-in page from `username` (docs/adfs.md).
        if (hint) url.searchParams.set('username', hint);
        return { kind: 'redirect', url: url.href };
      },
      async complete(tx, { method, params, tenantId }) {
        // callback.ts binds wctx to a live transaction of the route's tenant; hold to it here too.
        if (tx.tenantId !== tenant.id || (tenantId !== undefined && tenantId !== tenant.id)) {
          throw badRequest('unknown_state', 'this sign-in belongs to another organization');
        }
        if (method !== 'POST') throw badRequest('invalid_request', 'WS-Federation answers are posted');
        if (params.wa !== 'wsignin1.0') throw badRequest('invalid_request', 'wa must be wsignin1.0');
        const wresult = params.wresult;
        if (!wresult) throw badRequest('invalid_request', 'the answer has no wresult');
        const validated = await metadata.withRollover((md) => validate(wresult, md));
        const identity = identityFromAssertion(validated, cfg.claims);
        return { ...identity, subject: `${validated.issuer}|${identity.subject}`, idp: { kind: 'wsfed', id } };
      },
    };
  },
});
