/**
 * The `wstrust` kind: Fedbridge's own password page, checked at the organization's STS with a
 * WS-Trust 1.3 RST (UsernameToken + Timestamp, AppliesTo, KeyType Bearer). A
 * `FailedAuthentication` fault (AD FS sends it with HTTP 500) is a wrong password: the page asks
 * again. The returned assertion goes through the shared strict validator against the federation
 * metadata's certificates (docs/assertions.md). The password is sent once, over the STS's TLS
 * channel, and never stored, logged or put back into a page.
 */
import { FedbridgeError } from '../../errors.js';
import {
  buildUsernameMixedRst,
  classifyStsAnswer,
  identityFromAssertion,
  readWsFedMetadata,
  validateAssertion,
  type WsFedMetadata,
} from '../assertion/index.js';
import { fetchMetadataText, MetadataSource } from '../metadata.js';
import { assertionReplayCache } from '../replay.js';
import { defineKind } from '../types.js';
import { wstrustSchema } from './config.js';
import { wstrustAccountKey } from './account.js';

const MAX_STS_ANSWER = 512 * 1024;

export const wstrustKind = defineKind({
  kind: 'wstrust',
  schema: wstrustSchema,
  create(tenant, cfg, deps) {
    const id = cfg.id ?? `${tenant.id}-wstrust`;
    const log = deps.log.child({ idp: id });
    const metadata = new MetadataSource<WsFedMetadata>(
      async () => readWsFedMetadata(await fetchMetadataText(deps, cfg.metadataUrl, cfg.timeoutMs)),
      deps.now,
      log,
    );
    const seen = assertionReplayCache(deps.store, `wstrust\n${tenant.id}`, deps.now);

    const validate = (answer: string, md: WsFedMetadata) =>
      validateAssertion(answer, {
        certificates: md.signingCertificates,
        audience: cfg.appliesTo,
        // AD FS names itself in every assertion as in its metadata (the federation service identifier).
        issuer: md.entityId,
        seen,
        now: deps.now,
        clockSkewSeconds: cfg.clockSkewSeconds,
        maxBytes: MAX_STS_ANSWER,
      });

    return {
      kind: 'wstrust',
      id,
      async begin() {
        return { kind: 'password', prompt: 'username' };
      },
      // CONTOSO\alice and alice@contoso.com share one password budget (./account.ts).
      accountKey: wstrustAccountKey,
      async password({ username, password }) {
        // Metadata first: without trusted certificates there is no point sending the password.
        await metadata.get();
        const body = buildUsernameMixedRst({ endpoint: cfg.endpoint, appliesTo: cfg.appliesTo, username, password, now: deps.now() });
        const answer = await deps.http(
          cfg.endpoint,
          { method: 'POST', headers: { 'content-type': 'application/soap+xml; charset=utf-8' }, body },
          cfg.timeoutMs,
        );
        // AD FS answers faults with 500: read the body whatever the status (PROTOCOL §8).
        const text = answer.body ? Buffer.from(answer.body).toString('utf8') : '';
        if (classifyStsAnswer(text, { maxBytes: MAX_STS_ANSWER }).kind === 'failed_authentication') return null;
        if (answer.status !== 200) throw new FedbridgeError(502, 'upstream_error', `the STS answered ${answer.status} without a fault we know`);
        const validated = await metadata.withRollover((fresh) => validate(text, fresh));
        const identity = identityFromAssertion(validated, cfg.claims);
        return { ...identity, subject: `${validated.issuer}|${identity.subject}`, idp: { kind: 'wstrust', id } };
      },
    };
  },
});
