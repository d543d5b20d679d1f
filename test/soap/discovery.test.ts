import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ACTION_DISCOVER_RESPONSE, NS_ADDRESSING, NS_ENROLLMENT_DISCOVERY, NS_SOAP12 } from '../../src/soap/constants.js';
import { buildDiscoverResponse, parseDiscoverRequest, pickEnrollmentVersion } from '../../src/soap/discovery.js';
import { XmlError, attrByLocalName, childElements, firstByLocalName, parseXml, text } from '../../src/soap/xml.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/soap/${name}`, import.meta.url), 'utf8');

describe('parseDiscoverRequest', () => {
  it('reads the 4.0 sample with a trailing-slash namespace, padded values and a spaced MessageID', () => {
    expect(parseDiscoverRequest(fixture('discover-v4-trailing-slash.xml'))).toEqual({
      messageId: 'urn:uuid: 3f1c9a52-7d0e-4b8a-9c61-2e5d04a7b913',
      emailAddress: 'dana@fabrikam.test',
      requestVersion: '4.0',
      deviceType: 'CIMClient_Windows',
      applicationVersion: '10.0.19045.3803',
      osEdition: '72',
      authPolicies: ['OnPremise', 'Federated'],
    });
  });

  it('reads a 5.0 request with CRLF line endings', () => {
    const xml = fixture('discover-v5.xml');
    expect(xml).toContain('\r\n');
    expect(parseDiscoverRequest(xml)).toEqual({
      messageId: 'urn:uuid:8e2d6b41-0c5f-4a97-b3e8-71f9a0c2d654',
      emailAddress: 'lee.wong@fabrikam.test',
      requestVersion: '5.0',
      deviceType: 'CIMClient_Windows',
      applicationVersion: '10.0.26100.2605',
      osEdition: '48',
      authPolicies: ['OnPremise', 'Federated'],
    });
  });

  it('reads a Certificate-only request', () => {
    const req = parseDiscoverRequest(fixture('discover-certificate-only.xml'));
    expect(req.authPolicies).toEqual(['Certificate']);
    expect(req.requestVersion).toBe('3.0');
    expect(req.emailAddress).toBe('kiosk-07@fabrikam.test');
  });

  it('reports a missing EmailAddress as null rather than failing', () => {
    const req = parseDiscoverRequest(fixture('discover-no-email.xml'));
    expect(req.emailAddress).toBeNull();
    expect(req.authPolicies).toEqual(['Federated']);
    expect(req.messageId).toBe('urn:uuid:5d9e3b70-1a24-4c8f-96e2-0b7c3f4a1d58');
  });

  it('treats an empty element like a missing one', () => {
    const xml = fixture('discover-v5.xml').replace('<EmailAddress>lee.wong@fabrikam.test</EmailAddress>', '<EmailAddress>  </EmailAddress>');
    expect(parseDiscoverRequest(xml).emailAddress).toBeNull();
  });

  it('refuses an envelope without Discover', () => {
    const xml = fixture('discover-v5.xml').replace(/<Discover [\s\S]*<\/Discover>/, '<Other/>');
    expect(() => parseDiscoverRequest(xml)).toThrow(XmlError);
  });

  it('refuses a Discover without MessageID', () => {
    const xml = fixture('discover-v5.xml').replace(/<a:MessageID>.*<\/a:MessageID>/, '');
    expect(() => parseDiscoverRequest(xml)).toThrowError(expect.objectContaining({ code: 'malformed' }));
  });

  it('refuses a Discover that is not inside a SOAP envelope', () => {
    const xml = `<Discover xmlns="${NS_ENROLLMENT_DISCOVERY}"><request/></Discover>`;
    expect(() => parseDiscoverRequest(xml)).toThrowError(expect.objectContaining({ code: 'malformed' }));
  });
});

describe('buildDiscoverResponse', () => {
  const options = {
    relatesTo: 'urn:uuid: 3f1c9a52-7d0e-4b8a-9c61-2e5d04a7b913',
    authPolicy: 'Federated' as const,
    enrollmentServiceUrl: 'https://enroll.fabrikam.test/EnrollmentServer/Enrollment.svc',
    enrollmentPolicyServiceUrl: 'https://enroll.fabrikam.test/EnrollmentServer/Policy.svc',
    authenticationServiceUrl: 'https://signin.fabrikam.test/wab?os=10.0.19045&x=1',
    enrollmentVersion: '4.0',
  };

  it('re-parses with every field in place and RelatesTo verbatim', () => {
    const doc = parseXml(buildDiscoverResponse(options));
    const envelope = doc.documentElement!;
    expect(envelope.namespaceURI).toBe(NS_SOAP12);
    expect(envelope.localName).toBe('Envelope');

    const action = firstByLocalName(envelope, 'Action')!;
    expect(action.namespaceURI).toBe(NS_ADDRESSING);
    expect(text(action)).toBe(ACTION_DISCOVER_RESPONSE);
    expect(attrByLocalName(action, 'mustUnderstand')).toBe('1');
    expect(firstByLocalName(envelope, 'RelatesTo')!.textContent).toBe(options.relatesTo);
    expect(firstByLocalName(envelope, 'ActivityId')).toBeNull();

    const response = firstByLocalName(envelope, 'DiscoverResponse')!;
    expect(response.namespaceURI).toBe(NS_ENROLLMENT_DISCOVERY);
    const result = childElements(response)[0]!;
    expect(result.localName).toBe('DiscoverResult');
    const fields = Object.fromEntries(childElements(result).map((e) => [e.localName, e.textContent]));
    expect(fields).toEqual({
      AuthPolicy: 'Federated',
      EnrollmentVersion: '4.0',
      EnrollmentPolicyServiceUrl: options.enrollmentPolicyServiceUrl,
      EnrollmentServiceUrl: options.enrollmentServiceUrl,
      AuthenticationServiceUrl: options.authenticationServiceUrl,
    });
    for (const el of childElements(result)) expect(el.namespaceURI).toBe(NS_ENROLLMENT_DISCOVERY);
  });

  it('escapes every value', () => {
    const xml = buildDiscoverResponse({
      ...options,
      relatesTo: 'urn:uuid:<evil>&"\'',
      authenticationServiceUrl: 'https://signin.fabrikam.test/wab?a=1&b=<script>',
      activityId: 'act"<>',
    });
    expect(xml).not.toContain('<script>');
    expect(xml).not.toContain('<evil>');
    const doc = parseXml(xml);
    expect(firstByLocalName(doc, 'RelatesTo')!.textContent).toBe('urn:uuid:<evil>&"\'');
    expect(firstByLocalName(doc, 'AuthenticationServiceUrl')!.textContent).toBe(
      'https://signin.fabrikam.test/wab?a=1&b=<script>',
    );
    const activity = firstByLocalName(doc, 'ActivityId')!;
    expect(activity.textContent).toBe('act"<>');
    expect(attrByLocalName(activity, 'CorrelationId')).toBe('act"<>');
  });

  it('answers a parsed request end to end', () => {
    const req = parseDiscoverRequest(fixture('discover-v4-trailing-slash.xml'));
    const xml = buildDiscoverResponse({
      ...options,
      relatesTo: req.messageId,
      enrollmentVersion: pickEnrollmentVersion(req.requestVersion),
    });
    const doc = parseXml(xml);
    expect(firstByLocalName(doc, 'RelatesTo')!.textContent).toBe('urn:uuid: 3f1c9a52-7d0e-4b8a-9c61-2e5d04a7b913');
    expect(firstByLocalName(doc, 'EnrollmentVersion')!.textContent).toBe('4.0');
  });
});

describe('pickEnrollmentVersion', () => {
  const table: Array<[string | null, string | undefined, string]> = [
    ['5.0', undefined, '5.0'],
    ['4.0', undefined, '4.0'],
    ['3.0', undefined, '3.0'],
    ['6.0', undefined, '5.0'],
    ['5.1', undefined, '5.0'],
    ['10.0', undefined, '5.0'], // numeric, not string, comparison
    ['4.10', undefined, '4.10'],
    ['5', undefined, '5.0'],
    [' 4.0 ', undefined, '4.0'],
    [null, undefined, '5.0'],
    ['', undefined, '5.0'],
    ['abc', undefined, '5.0'],
    ['4.0beta', undefined, '5.0'],
    ['-1', undefined, '5.0'],
    ['4.0', '5.0', '5.0'], // configured wins, even above the request
    [null, '4.0', '4.0'],
    ['3.0', ' 4.0 ', '4.0'],
    ['3.0', '', '3.0'], // an empty configured value means "not configured"
  ];
  it.each(table)('request %j, configured %j -> %s', (requested, configured, expected) => {
    expect(pickEnrollmentVersion(requested, configured)).toBe(expected);
  });
});
