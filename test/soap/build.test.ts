import { describe, expect, it } from 'vitest';
import {
  ACTION_DISCOVER,
  ACTION_GET_POLICIES,
  ACTION_RST_WSTEP,
  ENCODING_BASE64_BINARY,
  NS_WSSE,
  NS_WS_TRUST,
  REQUEST_TYPE_ISSUE,
  TOKEN_TYPE_DEVICE_ENROLLMENT,
  VT_DEVICE_ENROLLMENT_USER_TOKEN,
  VT_PKCS10,
} from '../../src/soap/constants.js';
import { buildDiscoverRequest, buildEnrollEnvelope, buildGetPoliciesEnvelope } from '../../src/soap/build.js';
import { parseDiscoverRequest } from '../../src/soap/discovery.js';
import { decodeBase64Strict, parseEnrollmentEnvelope } from '../../src/soap/envelope.js';
import { attrByLocalName, firstByLocalName, parseXml, text } from '../../src/soap/xml.js';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJ1cG4iOiJkYW5hQGZhYnJpa2FtLnRlc3QifQ.c2lnbmF0dXJl';

describe('buildGetPoliciesEnvelope round trip', () => {
  const xml = buildGetPoliciesEnvelope({
    token: TOKEN,
    messageId: 'urn:uuid:11111111-2222-4333-8444-555555555555',
    to: 'https://enroll.fabrikam.test/EnrollmentServer/Policy.svc',
  });

  it('parses back to the same message, id and token (one base64 layer)', () => {
    const env = parseEnrollmentEnvelope(xml);
    expect(env.message).toBe('GetPolicies');
    expect(env.messageId).toBe('urn:uuid:11111111-2222-4333-8444-555555555555');
    expect(env.tokens).toEqual([
      {
        valueType: VT_DEVICE_ENROLLMENT_USER_TOKEN,
        encodingType: ENCODING_BASE64_BINARY,
        value: Buffer.from(TOKEN).toString('base64'),
      },
    ]);
    expect(decodeBase64Strict(env.tokens[0]!.value)!.toString('utf8')).toBe(TOKEN);
  });

  it('has the Action, To and the MS-XCEP nil body', () => {
    const doc = parseXml(xml);
    expect(text(firstByLocalName(doc, 'Action')!)).toBe(ACTION_GET_POLICIES);
    expect(text(firstByLocalName(doc, 'To')!)).toBe('https://enroll.fabrikam.test/EnrollmentServer/Policy.svc');
    expect(firstByLocalName(doc, 'Security')!.namespaceURI).toBe(NS_WSSE);
    expect(attrByLocalName(firstByLocalName(doc, 'requestFilter')!, 'nil')).toBe('true');
  });

  it('invents a urn:uuid MessageID and omits To when not given', () => {
    const plain = buildGetPoliciesEnvelope({ token: TOKEN });
    expect(parseEnrollmentEnvelope(plain).messageId).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(firstByLocalName(parseXml(plain), 'To')).toBeNull();
  });

  it('keeps non-ASCII tokens intact', () => {
    const env = parseEnrollmentEnvelope(buildGetPoliciesEnvelope({ token: 'jeton-été-<&>' }));
    expect(decodeBase64Strict(env.tokens[0]!.value)!.toString('utf8')).toBe('jeton-été-<&>');
  });
});

describe('buildEnrollEnvelope round trip', () => {
  const csr = 'MIHqMIGRAgEAMC8xLTArBgNVBAMMJEIxQzQzQ0QwLTE2MjQtNUZCQi04RTU0LTM0';
  const xml = buildEnrollEnvelope({
    token: TOKEN,
    deviceId: 'B1C43CD016245FBB8E5434CF17DFD3A1',
    additionalContext: { DeviceType: 'CIMClient_Windows', DeviceName: 'FAB <LT> & "42"', DeviceID: 'spoofed' },
    csrBase64: csr,
    messageId: 'urn:uuid:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    to: 'https://enroll.fabrikam.test/EnrollmentServer/Enrollment.svc',
  });

  it('parses back to Enroll with the token, DeviceID and context', () => {
    const env = parseEnrollmentEnvelope(xml);
    expect(env.message).toBe('Enroll');
    expect(env.messageId).toBe('urn:uuid:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee');
    expect(env.tokens).toHaveLength(1); // the CSR BST is not a header token
    expect(decodeBase64Strict(env.tokens[0]!.value)!.toString('utf8')).toBe(TOKEN);
    expect(env.deviceId).toBe('B1C43CD016245FBB8E5434CF17DFD3A1');
    expect(env.additionalContext).toEqual({
      DeviceID: 'B1C43CD016245FBB8E5434CF17DFD3A1',
      EnrollmentType: 'Full',
      DeviceType: 'CIMClient_Windows',
      DeviceName: 'FAB <LT> & "42"',
    });
  });

  it('has a WS-Trust RST body with TokenType, RequestType and the PKCS#10 BST', () => {
    const doc = parseXml(xml);
    expect(text(firstByLocalName(doc, 'Action')!)).toBe(ACTION_RST_WSTEP);
    const rst = firstByLocalName(doc, 'RequestSecurityToken')!;
    expect(rst.namespaceURI).toBe(NS_WS_TRUST);
    expect(text(firstByLocalName(rst, 'TokenType')!)).toBe(TOKEN_TYPE_DEVICE_ENROLLMENT);
    expect(text(firstByLocalName(rst, 'RequestType')!)).toBe(REQUEST_TYPE_ISSUE);
    const bst = firstByLocalName(rst, 'BinarySecurityToken')!;
    expect(attrByLocalName(bst, 'ValueType')).toBe(VT_PKCS10);
    expect(text(bst)).toBe(csr);
  });

  it('lets EnrollmentType be overridden and omits the CSR when absent', () => {
    const env = parseEnrollmentEnvelope(
      buildEnrollEnvelope({ token: TOKEN, deviceId: 'dev', additionalContext: { EnrollmentType: 'Device' } }),
    );
    expect(env.additionalContext).toEqual({ DeviceID: 'dev', EnrollmentType: 'Device' });
    const doc = parseXml(buildEnrollEnvelope({ token: TOKEN, deviceId: 'dev' }));
    expect(firstByLocalName(firstByLocalName(doc, 'Body')!, 'BinarySecurityToken')).toBeNull();
  });
});

describe('buildDiscoverRequest round trip', () => {
  it('parses back with defaults', () => {
    const xml = buildDiscoverRequest({ email: 'dana@fabrikam.test', messageId: 'urn:uuid: 1234' });
    expect(text(firstByLocalName(parseXml(xml), 'Action')!)).toBe(ACTION_DISCOVER);
    expect(parseDiscoverRequest(xml)).toEqual({
      messageId: 'urn:uuid: 1234',
      emailAddress: 'dana@fabrikam.test',
      requestVersion: '5.0',
      deviceType: 'CIMClient_Windows',
      applicationVersion: '10.0.22631.1',
      osEdition: '48',
      authPolicies: ['OnPremise', 'Federated'],
    });
  });

  it('carries the chosen version and policies, escaped', () => {
    const req = parseDiscoverRequest(
      buildDiscoverRequest({
        email: 'o\'brien+mdm@fabrikam.test',
        messageId: 'urn:uuid:<x>',
        requestVersion: '4.0',
        authPolicies: ['Certificate'],
      }),
    );
    expect(req.emailAddress).toBe("o'brien+mdm@fabrikam.test");
    expect(req.messageId).toBe('urn:uuid:<x>');
    expect(req.requestVersion).toBe('4.0');
    expect(req.authPolicies).toEqual(['Certificate']);
  });
});
