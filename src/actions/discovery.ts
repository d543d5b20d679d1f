/**
 * GET|POST /EnrollmentServer/Discovery.svc (contract §3): a reference MS-MDE2 discovery
 * service that always answers Federated, pointing the device at this service's /auth.
 * Every bad request ends in a SOAP fault, never in a crash or an HTML page.
 */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { notFound } from '../errors.js';
import { buildDiscoverResponse, parseDiscoverRequest, pickEnrollmentVersion } from '../soap/discovery.js';
import { buildSoapFault, type FaultCode } from '../soap/faults.js';
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

function fault(ctx: Context, status: number, code: FaultCode, reason: string, relatesTo?: string): void {
  sendSoap(ctx, status, buildSoapFault({ code, reason, ...(relatesTo ? { relatesTo } : {}) }));
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
  if (!ctx.is(XML_TYPES)) {
    return fault(ctx, 415, 's:MessageFormat', 'A Discover request is a SOAP 1.2 message (Content-Type: application/soap+xml).');
  }
  let xml: string;
  try {
    xml = await readBody(ctx.req, MAX_DISCOVER_BYTES);
  } catch (err) {
    if (err instanceof BodyError) return fault(ctx, 400, 's:MessageFormat', err.message);
    throw err;
  }

  let request;
  try {
    request = parseDiscoverRequest(xml, { maxBytes: MAX_DISCOVER_BYTES });
  } catch (err) {
    const why = err instanceof XmlError && err.code === 'dtd_refused' ? 'DTDs are not accepted.' : 'The Discover request could not be read.';
    const parser = err instanceof XmlError ? err.parserMessage : undefined;
    deps.log.info({ reqId: ctx.state.requestId, detail: err instanceof Error ? err.message : String(err), ...(parser ? { parser } : {}) }, 'discover request refused');
    return fault(ctx, 400, 's:MessageFormat', why);
  }

  // The server picks the policy and the client obeys: never OnPremise (plaintext passwords).
  if (!request.authPolicies.includes('Federated')) {
    return fault(ctx, 400, 's:EnrollmentServer', 'This enrollment service supports federated sign-in only, and the device did not offer it.', request.messageId);
  }
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
      enrollmentVersion: pickEnrollmentVersion(request.requestVersion, discovery.enrollmentVersion),
    }),
  );
}
