/** The device's discovery: GET then POST at URL/EnrollmentServer/Discovery.svc (README, Operating it). */
import { randomUUID } from 'node:crypto';
import { buildDiscoverRequest } from '../../soap/build.js';
import { SOAP_CONTENT_TYPE } from '../../soap/constants.js';
import { checkSecureUrl } from '../../config/urls.js';
import { parseDiscoverResponse, readSoapFault, type DiscoverResult } from './discover-response.js';
import { Skip } from './report.js';

export const discoveryUrl = (server: string) => `${server}/EnrollmentServer/Discovery.svc`;

export async function discoveryProbe(server: string, timeoutMs: number): Promise<{ detail: string; value: boolean }> {
  const res = await fetch(discoveryUrl(server), { signal: AbortSignal.timeout(timeoutMs) });
  const body = await res.text();
  if (res.status === 404) throw new Skip(`no discovery service (404); the window opens ${server}/auth`);
  if (res.status !== 200) throw new Error(`GET ${discoveryUrl(server)} answered ${res.status}, expected 200`);
  return { detail: `200${body.length ? ` with a ${body.length}-byte body` : ', empty body'}`, value: true };
}

export async function discover(server: string, user: string, timeoutMs: number): Promise<{ detail: string; value: DiscoverResult }> {
  const messageId = `urn:uuid:${randomUUID()}`;
  // What Windows offers: OnPremise and Federated; a safe server must still pick Federated.
  const body = buildDiscoverRequest({ email: user, messageId, requestVersion: '5.0', authPolicies: ['OnPremise', 'Federated'] });
  const res = await fetch(discoveryUrl(server), {
    method: 'POST',
    headers: { 'content-type': SOAP_CONTENT_TYPE },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const xml = await res.text();
  const fault = safely(() => readSoapFault(xml));
  if (fault) throw new Error(`SOAP fault ${fault.subcode}: ${fault.reason} (HTTP ${res.status})`);
  if (res.status !== 200) throw new Error(`POST answered ${res.status}, expected 200`);
  const type = res.headers.get('content-type') ?? '';
  if (!/^application\/soap\+xml\b/i.test(type)) throw new Error(`Content-Type ${type || '(none)'}, expected application/soap+xml`);
  if (/chunked/i.test(res.headers.get('transfer-encoding') ?? '') || !res.headers.has('content-length')) {
    throw new Error('the answer is chunked (no Content-Length); Windows refuses chunked discovery answers');
  }
  const r = parseDiscoverResponse(xml);
  const problems = [
    r.relatesTo !== messageId && `RelatesTo ${r.relatesTo ?? '(none)'} is not the request MessageID`,
    r.authPolicy !== 'Federated' && `AuthPolicy ${r.authPolicy ?? '(none)'}, expected Federated`,
    !r.enrollmentServiceUrl && 'no EnrollmentServiceUrl',
    !r.authenticationServiceUrl && 'no AuthenticationServiceUrl',
    r.authenticationServiceUrl && checkSecureUrl(r.authenticationServiceUrl) && `AuthenticationServiceUrl ${checkSecureUrl(r.authenticationServiceUrl)}`,
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length) throw new Error(problems.join('; '));
  return { detail: `Federated, EnrollmentVersion ${r.enrollmentVersion ?? '(none)'}, auth ${r.authenticationServiceUrl}`, value: r };
}

function safely<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}
