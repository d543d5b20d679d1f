/**
 * Issue #9: the fault builder's output for every refusal code, checked against the shape of
 * PROTOCOL.md §7 by parsing it (namespaces resolved, not strings compared).
 */
import { describe, expect, it } from 'vitest';
import type { Element } from '@xmldom/xmldom';
import { parseXml, childElements, text } from '../../src/soap/xml.js';
import { REFUSALS, buildRefusalFault, faultActionFor, type RefusalCode } from '../../src/soap/refusals.js';
import { buildSoapFault, SOAP_FAULT_HTTP_STATUS } from '../../src/soap/faults.js';
import {
  ACTION_ADDRESSING_FAULT,
  ACTION_DISCOVER_RESPONSE,
  ACTION_GET_POLICIES_RESPONSE,
  ACTION_RSTRC_WSTEP,
  NS_ADDRESSING,
  NS_DIAGNOSTICS,
  NS_ENROLLMENT,
  NS_SOAP12,
  NS_WSSE,
} from '../../src/soap/constants.js';

const ERROR_TYPES = ['DeviceCapReached', 'DeviceNotSupported', 'NotSupported', 'NotEligibleToRenew', 'InMaintenance', 'UserLicense', 'InvalidEnrollmentData'];
const SUBCODES = ['MessageFormat', 'Authentication', 'Authorization', 'CertificateRequest', 'EnrollmentServer', 'InternalServiceFault'];

/** The one child with this namespace and local name; fails otherwise. */
function only(parent: Element, ns: string, local: string): Element {
  const found = childElements(parent).filter((e) => e.namespaceURI === ns && e.localName === local);
  expect(found, `${parent.localName}/${local}`).toHaveLength(1);
  return found[0]!;
}

/** Resolves a QName in element text against the element's in-scope namespaces. */
function qname(el: Element): { ns: string | null; local: string } {
  const [prefix, local] = text(el).split(':') as [string, string];
  return { ns: el.lookupNamespaceURI(prefix), local };
}

const codes = Object.keys(REFUSALS) as RefusalCode[];

describe('buildRefusalFault, for every refusal code', () => {
  it.each(codes)('%s', (code) => {
    const xml = buildRefusalFault(code, { relatesTo: 'urn:uuid: 1 <&>', activityId: 'req-0001', request: 'Enroll' });
    const env = parseXml(xml).documentElement!;
    expect([env.namespaceURI, env.localName]).toEqual([NS_SOAP12, 'Envelope']);
    const header = only(env, NS_SOAP12, 'Header');
    const body = only(env, NS_SOAP12, 'Body');

    expect(text(only(header, NS_ADDRESSING, 'Action'))).toBe(ACTION_RSTRC_WSTEP);
    expect(text(only(header, NS_ADDRESSING, 'RelatesTo'))).toBe('urn:uuid: 1 <&>');
    const activity = only(header, NS_DIAGNOSTICS, 'ActivityId');
    expect(text(activity)).toBe('req-0001');
    expect(activity.getAttribute('CorrelationId')).toBe('req-0001');

    const fault = only(body, NS_SOAP12, 'Fault');
    expect(childElements(fault).map((e) => e.localName)).toEqual(['Code', 'Reason', 'Detail']);
    const codeEl = only(fault, NS_SOAP12, 'Code');
    const top = qname(only(codeEl, NS_SOAP12, 'Value'));
    expect(top.ns).toBe(NS_SOAP12);
    expect(['Receiver', 'Sender']).toContain(top.local);
    const sub = only(only(codeEl, NS_SOAP12, 'Subcode'), NS_SOAP12, 'Value');
    expect(text(sub)).toBe(REFUSALS[code].subcode);
    const subQ = qname(sub);
    if (REFUSALS[code].subcode === 'a:InvalidSecurity') {
      expect(subQ).toEqual({ ns: NS_WSSE, local: 'InvalidSecurity' });
      expect(top.local).toBe('Sender');
    } else {
      expect(subQ.ns).toBe(NS_SOAP12);
      expect(SUBCODES).toContain(subQ.local);
      expect(top.local).toBe('Receiver');
    }

    const reasonText = only(only(fault, NS_SOAP12, 'Reason'), NS_SOAP12, 'Text');
    expect(reasonText.getAttributeNS('http://www.w3.org/XML/1998/namespace', 'lang')).toBe('en-US');
    expect(text(reasonText)).toBe(REFUSALS[code].description);

    const error = only(only(fault, NS_SOAP12, 'Detail'), NS_ENROLLMENT, 'DeviceEnrollmentServiceError');
    expect(childElements(error).map((e) => e.localName)).toEqual(['ErrorType', 'Message', 'TraceId']);
    expect(ERROR_TYPES).toContain(text(only(error, NS_ENROLLMENT, 'ErrorType')));
    expect(text(only(error, NS_ENROLLMENT, 'ErrorType'))).toBe(REFUSALS[code].errorType);
    expect(text(only(error, NS_ENROLLMENT, 'Message'))).toBe(REFUSALS[code].description);
    expect(text(only(error, NS_ENROLLMENT, 'TraceId'))).toBe('req-0001');
  });
});

describe('fault Action and status', () => {
  it('is the response Action of the request type, or the WS-Addressing fault Action when unknown', () => {
    expect(faultActionFor('Discover')).toBe(ACTION_DISCOVER_RESPONSE);
    expect(faultActionFor('GetPolicies')).toBe(ACTION_GET_POLICIES_RESPONSE);
    expect(faultActionFor('Enroll')).toBe(ACTION_RSTRC_WSTEP);
    expect(faultActionFor(null)).toBe(ACTION_ADDRESSING_FAULT);
    expect(SOAP_FAULT_HTTP_STATUS).toBe(500);
  });

  it('without a MessageID there is no RelatesTo, and no text of the caller gets in', () => {
    const xml = buildRefusalFault('malformed', { activityId: 'r-1', request: null });
    expect(parseXml(xml).getElementsByTagNameNS(NS_ADDRESSING, 'RelatesTo').length).toBe(0);
  });

  it('the table has a fixed text for every code, none empty, none with a placeholder', () => {
    for (const code of codes) expect(REFUSALS[code].description).toMatch(/^[A-Z][^{}$<>]+\.$/);
  });

  it('a plain buildSoapFault (no errorType) has no Detail', () => {
    const doc = parseXml(buildSoapFault({ code: 's:MessageFormat', reason: 'x' }));
    expect(doc.getElementsByTagNameNS(NS_SOAP12, 'Detail').length).toBe(0);
  });
});
