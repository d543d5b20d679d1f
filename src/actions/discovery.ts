/**
 * GET|POST /EnrollmentServer/Discovery.svc (docs/enrollment-server.md): a reference MS-MDE2 discovery
 * service that always answers Federated, pointing the device at this service's /auth.
 * Every bad request ends in a SOAP fault, never in a crash or an HTML page.
 */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { notFound } from '../errors.js';
import { buildDiscoverResponse, parseDiscoverRequest, pickEnrollmentVersion } from '../soap/discovery.js';
import { SOAP_FAULT_HTTP_STATUS } from '../soap/faults.js';
import { buildRefusalFault, type RefusalCode } from '../soap/refusals.js';
import { randomUUID } from 'node:crypto';
import { SOAP_CONTENT_TYPE } from '../soap/constants.js';
import { XmlError } from '../soap/xml.js';
import { BodyError, readBody } from '../http/rawbody.js';

/** A Discover request is well under 2 KiB; 64 KiB leaves room for padding and never more. */
export const MAX_DISCOVER_BYTES = 64 * 1024;

const XML_TYPES = ['application/soap+xml', 'text/xml', 'application/xml'];

function sendSoap(ctx: Context, status: number, xml: string): void {
  ctx.status = status;
  // A Buffer body gets a Content-Length from Koa: the client refuses chunked answers.
  ctx.body = Buffer.from(xml, 'utf8');
  ctx.set('Content-Type', SOAP_CONTENT_TYPE);
  ctx.set('Cache-Control', 'no-store');
}

/**
 * Every refusal is a SOAP fault from the shared builder (src/soap/refusals.ts), with the request
 * id of the log line as ActivityId and TraceId, answered with SOAP_FAULT_HTTP_STATUS (500, see
 * docs/enrollment-server.md, "Faults").
 */
function fault(ctx: Context, deps: AppDeps, code: RefusalCode, relatesTo?: string | null): void {
  deps.log.info({ reqId: ctx.state.requestId, error: code }, 'discover request refused');
  sendSoap(ctx, SOAP_FAULT_HTTP_STATUS, buildRefusalFault(code, { relatesTo: relatesTo ?? null, activityId: activityId(ctx), request: 'Discover' }));
}

/** The request id of the log line (src/http/middleware.ts sets it on every request). */
function activityId(ctx: Context): string {
  const id = ctx.state.requestId;
  return typeof id === 'string' && id !== '' ? id : randomUUID();
}

function requireDiscovery(deps: AppDeps) {
  const discovery = deps.config.discovery;
  if (!discovery) throw notFound('not_found', 'discovery is not configured');
  return discovery;
}

/** The client's reachability probe before it POSTs: 200 with an empty body. */
export function discoveryProbe(ctx: Context, deps: AppDeps): void {
  requireDiscovery(deps);
  ctx.status = 200;
  ctx.body = '';
  ctx.set('Cache-Control', 'no-store');
}

export async function discover(ctx: Context, deps: AppDeps): Promise<void> {
  const discovery = requireDiscovery(deps);
  if (!ctx.is(XML_TYPES)) return fault(ctx, deps, 'unsupported_media_type');
  let xml: string;
  try {
    xml = await readBody(ctx.req, MAX_DISCOVER_BYTES);
  } catch (err) {
    if (err instanceof BodyError) return fault(ctx, deps, err.kind === 'too_large' ? 'request_too_large' : 'malformed');
    throw err;
  }

  let request;
  try {
    request = parseDiscoverRequest(xml, { maxBytes: MAX_DISCOVER_BYTES });
  } catch (err) {
    // Our own reason (a limit, a rule) and the parser's complaint go to the debug log only: the
    // parser's may quote the input. The fault's text is fixed per code.
    const detail = err instanceof XmlError ? err.code : 'unreadable';
    deps.log.debug({ reqId: ctx.state.requestId, detail, ...(err instanceof XmlError && err.parserMessage ? { parser: err.parserMessage } : {}) }, 'discover request unreadable');
    return fault(ctx, deps, 'malformed');
  }

  // The server picks the policy and the client obeys: never OnPremise (plaintext passwords).
  if (!request.authPolicies.includes('Federated')) return fault(ctx, deps, 'federated_not_offered', request.messageId);
  const publicUrl = deps.config.server.publicUrl;
  sendSoap(
    ctx,
    200,
    buildDiscoverResponse({
      relatesTo: request.messageId,
      authPolicy: 'Federated',
      enrollmentServiceUrl: discovery.enrollmentServiceUrl,
      enrollmentPolicyServiceUrl: discovery.enrollmentPolicyServiceUrl,
      authenticationServiceUrl: `${publicUrl}/auth`,
      // RequestVersion 6.0 (Windows 11) is answered 5.0: docs/enrollment-server.md, "Versions".
      enrollmentVersion: pickEnrollmentVersion(request.requestVersion, discovery.enrollmentVersion),
      activityId: activityId(ctx),
    }),
  );
}
