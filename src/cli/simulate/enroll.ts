/**
 * GetPolicies then Enroll, each carrying the token as Windows sends it (BST = base64(wresult)):
 * to URL/introspect (the default), or with --mdm to the MDM endpoints discovery named.
 */
import { randomBytes } from 'node:crypto';
import { buildEnrollEnvelope, buildGetPoliciesEnvelope } from '../../soap/build.js';
import { SOAP_CONTENT_TYPE } from '../../soap/constants.js';
import { makeCsrBase64 } from './csr.js';
import { readSoapFault } from './discover-response.js';

/** A DeviceID shaped like the ones Windows sends (32 upper-case hex digits). */
export const newDeviceId = () => randomBytes(16).toString('hex').toUpperCase();

export interface Envelopes {
  getPolicies: string;
  enroll: string;
  /** The same token presented by another device: must be refused once consumed. */
  replay: string;
  deviceId: string;
}

export function envelopes(token: string, urls: { policy?: string; enroll?: string } = {}): Envelopes {
  const deviceId = newDeviceId();
  const context = { DeviceType: 'CIMClient_Windows', OSVersion: '10.0.22631.1', ApplicationVersion: '10.0.22631.1', UXInitiated: 'true' };
  return {
    deviceId,
    getPolicies: buildGetPoliciesEnvelope({ token, to: urls.policy }),
    enroll: buildEnrollEnvelope({ token, deviceId, csrBase64: makeCsrBase64(deviceId), additionalContext: context, to: urls.enroll }),
    replay: buildEnrollEnvelope({ token, deviceId: newDeviceId(), additionalContext: context, to: urls.enroll }),
  };
}

export interface IntrospectClient {
  url: string;
  id: string;
  secret: string;
}

/** RFC 6749 §2.3.1: id and secret are form-encoded inside HTTP Basic. */
const basic = (c: IntrospectClient) =>
  `Basic ${Buffer.from(`${encodeURIComponent(c.id)}:${encodeURIComponent(c.secret)}`).toString('base64')}`;

export async function introspect(client: IntrospectClient, envelope: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const res = await fetch(client.url, {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ token: envelope }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status === 401) throw new Error(`/introspect refused the client credentials of ${JSON.stringify(client.id)} (set FEDBRIDGE_INTROSPECT_ID / FEDBRIDGE_INTROSPECT_SECRET)`);
  if (res.status !== 200) throw new Error(`/introspect answered ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Expects an active answer for this message; returns the PASS detail. */
export function expectActive(r: Record<string, unknown>, message: 'GetPolicies' | 'Enroll', user: string, replay?: string): string {
  if (r.active !== true) throw new Error(`inactive: ${String(r.error)}${r.error_description ? ` (${String(r.error_description)})` : ''}`);
  const problems = [
    r.message !== message && `message ${String(r.message)}, expected ${message}`,
    String(r.upn).toLowerCase() !== user.toLowerCase() && `upn ${String(r.upn)}, expected ${user}`,
    replay !== undefined && r.replay !== replay && `replay ${String(r.replay)}, expected ${replay}`,
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length) throw new Error(problems.join('; '));
  return `active, message ${message}, upn ${String(r.upn)}, tenant ${String(r.tid)}${r.replay ? `, replay ${String(r.replay)}` : ''}`;
}

/** --mdm: pass = HTTP 200 with a SOAP answer that is not a fault. */
export async function postToMdm(url: string, envelope: string, timeoutMs: number): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': SOAP_CONTENT_TYPE },
    body: envelope,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let fault: ReturnType<typeof readSoapFault> = null;
  try {
    fault = readSoapFault(text);
  } catch {
    throw new Error(`HTTP ${res.status} without a SOAP envelope: ${text.slice(0, 120).replace(/\s+/g, ' ')}`);
  }
  if (fault) throw new Error(`SOAP fault ${fault.subcode}: ${fault.reason} (HTTP ${res.status})`);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}, expected 200`);
  return `HTTP 200, ${Buffer.byteLength(text)}-byte SOAP answer from ${new URL(url).host}`;
}
