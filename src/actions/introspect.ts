/**
 * POST /introspect (docs/enrollment-server.md): enrollment servers ask whether a token, a BST value
 * or a whole WS-Trust SOAP message carries a token they may trust. Any token value,
 * however bad, answers 200 with active=false and a stable code.
 */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { audienceResolver } from '../http/deps.js';
import { badRequest } from '../errors.js';
import { authenticateClient } from './clientauth.js';
import { checkEnrollmentInput } from '../verify/check.js';
import { DEFAULT_NBF_LEEWAY_SECONDS } from '../tokens/verify.js';
import { parseFormOrJson } from '../http/rawbody.js';
import { FedbridgeError } from '../errors.js';

/** Introspection carries a SOAP envelope inside a form or JSON field (docs/enrollment-server.md). */
const BODY_LIMIT = 256 * 1024;

function readConsume(v: unknown): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (v === true || v === 'true' || v === '1') return true;
  if (v === false || v === 'false' || v === '0') return false;
  throw badRequest('invalid_request', 'consume must be a boolean');
}

export async function introspect(ctx: Context, deps: AppDeps): Promise<void> {
  const client = authenticateClient(ctx, deps.config.enrollmentServers);
  // This route's own strict reader (src/http/rawbody.ts): form or JSON, 256 KiB, and a field
  // given twice is a 400 (docs/enrollment-server.md), whichever reader a client expects.
  const read = await parseFormOrJson(ctx.req, BODY_LIMIT);
  if (!read.ok) {
    if (read.status === 413) throw new FedbridgeError(413, 'request_too_large', read.detail);
    throw badRequest('invalid_request', read.detail);
  }
  const body = read.fields;
  if (typeof body.token !== 'string' || body.token.length === 0) throw badRequest('invalid_request', 'token is required');
  const consume = readConsume(body.consume);

  const now = deps.clock.now();
  const result = await checkEnrollmentInput(body.token, {
    keys: deps.keys.verifier(now),
    issuer: deps.config.server.publicUrl,
    now,
    audienceFor: audienceResolver(deps.config),
    tenantAllowed: (tid) => !client.tenants || client.tenants.includes(tid),
    // docs/enrollment-server.md: no leeway on exp here, 5 s on nbf/iat, and no token outlives tokens.ttlSeconds.
    expLeewaySeconds: 0,
    nbfLeewaySeconds: DEFAULT_NBF_LEEWAY_SECONDS,
    maxLifetimeSeconds: deps.config.tokens.ttlSeconds,
    store: deps.store,
    consume,
  });

  ctx.set('Cache-Control', 'no-store');
  // The audit log records what changes state or refuses (a consumption, a refusal); plain
  // checks, which a device repeats, are in the access log only: this is the hot path.
  if (!result.active) {
    deps.metrics.introspections.inc({ result: result.error });
    deps.log.info({ reqId: ctx.state.requestId, client: client.id, error: result.error }, 'introspection refused');
    // What exactly failed (never the input) is for the debug log only.
    deps.log.debug({ reqId: ctx.state.requestId, error: result.error, detail: result.detail }, 'introspection refusal detail');
    deps.audit.push({ at: now, type: 'introspect.refused', requestId: ctx.state.requestId, ip: ctx.ip, detail: { client: client.id, error: result.error, message: result.message } });
    ctx.body = { active: false, error: result.error, error_description: result.description, message: result.message };
    return;
  }
  deps.metrics.introspections.inc({ result: 'active' });
  // A GetPolicies after consumption answers 'retry' without consuming: nothing to audit.
  if (result.replay === 'consumed' || (result.replay === 'retry' && (consume === true || result.message === 'Enroll'))) {
    deps.audit.push({
      at: now,
      type: `introspect.${result.replay}`,
      tenantId: result.claims.tid,
      subject: result.claims.upn,
      requestId: ctx.state.requestId,
      detail: { jti: result.claims.jti, client: client.id, message: result.message, deviceId: result.deviceId },
    });
  }
  ctx.body = {
    active: true,
    ...result.claims,
    message: result.message,
    deviceId: result.deviceId,
    additionalContext: result.additionalContext,
    replay: result.replay,
  };
}
