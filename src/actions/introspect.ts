/**
 * POST /introspect (docs/enrollment-server.md): enrollment servers ask whether a token, a BST value
 * or a whole WS-Trust SOAP message carries a token they may trust. Any token value,
 * however bad, answers 200 with active=false and a stable code.
 *
 * The answer is computed by `answerIntrospection`, which knows nothing of Koa: the lean listener
 * for exactly `POST /introspect` (src/http/fastpath.ts) and the Koa route (every other spelling
 * of the path, e.g. with a query string) both call it, so they cannot drift apart
 * (docs/operations.md, "Capacity").
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { audienceResolver } from '../http/deps.js';
import { badRequest } from '../errors.js';
import { authenticateClient, type HeaderAccess } from './clientauth.js';
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

/** One introspection request, as either listener sees it. */
export interface IntrospectionRequest {
  /** Its headers and its (unread) body stream. */
  req: IncomingMessage;
  /** Reads request headers and sets response headers (WWW-Authenticate, Cache-Control). */
  headers: HeaderAccess;
  requestId: string;
  /** The client address (the trusted proxy's last X-Forwarded-For entry behind one). */
  ip: string;
}

/**
 * The 200 answer's JSON body (the caller sends it as application/json). A refusal of the
 * request itself (client authentication, the body rules) is thrown as a FedbridgeError, which
 * each listener turns into the same JSON error (src/http/respond.ts's shape).
 */
export async function answerIntrospection(r: IntrospectionRequest, deps: AppDeps): Promise<Record<string, unknown>> {
  // One configuration for the whole request (a reload may swap deps.config meanwhile).
  const config = deps.config;
  const client = authenticateClient(r.headers, config.enrollmentServers);
  // This route's own strict reader (src/http/rawbody.ts): form or JSON, 256 KiB, and a field
  // given twice is a 400 (docs/enrollment-server.md), whichever reader a client expects.
  const read = await parseFormOrJson(r.req, BODY_LIMIT);
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
    issuer: config.server.publicUrl,
    now,
    audienceFor: audienceResolver(config),
    tenantAllowed: (tid) => !client.tenants || client.tenants.includes(tid),
    // docs/enrollment-server.md: no leeway on exp here, 5 s on nbf/iat, and no token outlives tokens.ttlSeconds.
    expLeewaySeconds: 0,
    nbfLeewaySeconds: DEFAULT_NBF_LEEWAY_SECONDS,
    maxLifetimeSeconds: config.tokens.ttlSeconds,
    store: deps.store,
    consume,
  });

  r.headers.set('Cache-Control', 'no-store');
  // The audit log records what changes state or refuses (a consumption, a refusal); plain
  // checks, which a device repeats, are in the access log only: this is the hot path.
  if (!result.active) {
    deps.metrics.introspections.inc({ result: result.error });
    deps.log.info({ reqId: r.requestId, client: client.id, error: result.error }, 'introspection refused');
    // What exactly failed (never the input) is for the debug log only.
    deps.log.debug({ reqId: r.requestId, error: result.error, detail: result.detail }, 'introspection refusal detail');
    deps.audit.push({ at: now, type: 'introspect.refused', requestId: r.requestId, ip: r.ip, detail: { client: client.id, error: result.error, message: result.message } });
    return { active: false, error: result.error, error_description: result.description, message: result.message };
  }
  deps.metrics.introspections.inc({ result: 'active' });
  // A GetPolicies after consumption answers 'retry' without consuming: nothing to audit.
  if (result.replay === 'consumed' || (result.replay === 'retry' && (consume === true || result.message === 'Enroll'))) {
    deps.audit.push({
      at: now,
      type: `introspect.${result.replay}`,
      tenantId: result.claims.tid,
      subject: result.claims.upn,
      requestId: r.requestId,
      detail: { jti: result.claims.jti, client: client.id, message: result.message, deviceId: result.deviceId },
    });
  }
  return {
    active: true,
    ...result.claims,
    message: result.message,
    deviceId: result.deviceId,
    additionalContext: result.additionalContext,
    replay: result.replay,
  };
}

/** The Koa route: the spellings of the path the lean listener leaves to Koa (`/introspect?x=1`, `/introspect/`). */
export async function introspect(ctx: Context, deps: AppDeps): Promise<void> {
  ctx.body = await answerIntrospection({ req: ctx.req, headers: ctx, requestId: ctx.state.requestId as string, ip: ctx.ip }, deps);
}
