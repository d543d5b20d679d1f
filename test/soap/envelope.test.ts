import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ENCODING_BASE64_BINARY,
  ENCODING_BASE64_BINARY_SMS,
  VT_DEVICE_ENROLLMENT_USER_TOKEN,
  VT_JWT,
} from '../../src/soap/constants.js';
import { decodeBase64Strict, looksLikeJwt, parseEnrollmentEnvelope } from '../../src/soap/envelope.js';
import { XmlError } from '../../src/soap/xml.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/soap/${name}`, import.meta.url), 'utf8');

// The wresult carried (base64-wrapped across lines) by the federated fixtures.
const FIXTURE_WRESULT =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImZiLWZpeHR1cmUtMSJ9.' +
  'eyJpc3MiOiJodHRwczovL3NpZ25pbi5mYWJyaWthbS50ZXN0IiwiYXVkIjoidXJuOmZlZGJyaWRnZTplbnJvbGwiLCJ1cG4iOiJkYW5hQGZhYnJpa2FtLnRlc3QiLCJpYXQiOjE3NjcyMjU2MDAsImV4cCI6MTc2NzIyNjIwMH0.' +
  'bm90LWEtcmVhbC1zaWduYXR1cmUtanVzdC1maXh0dXJlLWJ5dGVz';

describe('parseEnrollmentEnvelope: GetPolicies', () => {
  const env = parseEnrollmentEnvelope(fixture('getpolicies-federated.xml'));

  it('recognises the message from the padded Action', () => {
    expect(env.message).toBe('GetPolicies');
    expect(env.messageId).toBe('urn:uuid:A41F7C02-6B3D-4E85-9D1A-5C07E2B8F964');
  });

  it('reads the BST that carries its own default namespace, value trimmed', () => {
    expect(env.tokens).toHaveLength(1);
    const [token] = env.tokens;
    expect(token!.valueType).toBe(VT_DEVICE_ENROLLMENT_USER_TOKEN);
    expect(token!.encodingType).toBe(ENCODING_BASE64_BINARY);
    expect(token!.value.startsWith('ZXlKaGJHY2lPaUpTVXpJMU5pSXNJblI1Y0NJNklrcFhWQ0lzSW10cFpDSTZJbVpp\n')).toBe(true);
    expect(token!.value.endsWith('eg==')).toBe(true);
    expect(decodeBase64Strict(token!.value)!.toString('utf8')).toBe(FIXTURE_WRESULT);
  });

  it('has no device context', () => {
    expect(env.deviceId).toBeNull();
    expect(env.additionalContext).toEqual({});
  });
});

describe('parseEnrollmentEnvelope: Enroll (RST)', () => {
  const env = parseEnrollmentEnvelope(fixture('enroll-federated.xml'));

  it('recognises the message and MessageID', () => {
    expect(env.message).toBe('Enroll');
    expect(env.messageId).toBe('urn:uuid:e6b2d5a8-93c4-47f1-a0de-14c8b7f35a20');
  });

  it('reads wsse:-prefixed BST attributes and ignores the Body PKCS#10 BST', () => {
    expect(env.tokens).toEqual([
      { valueType: VT_DEVICE_ENROLLMENT_USER_TOKEN, encodingType: ENCODING_BASE64_BINARY, value: expect.any(String) },
    ]);
    expect(decodeBase64Strict(env.tokens[0]!.value)!.toString('utf8')).toBe(FIXTURE_WRESULT);
  });

  it('reads DeviceID and every AdditionalContext item, trimmed', () => {
    expect(env.deviceId).toBe('B1C43CD016245FBB8E5434CF17DFD3A1');
    expect(env.additionalContext).toMatchObject({
      UXInitiated: 'true',
      Locale: 'en-US',
      OSEdition: '72',
      DeviceName: 'FAB-LT-0042',
      EnrollmentType: 'Full',
      DeviceType: 'CIMClient_Windows',
      OSVersion: '10.0.22631.4602',
      ApplicationVersion: '10.0.22631.4602',
      NotInOobe: 'false',
      RequestVersion: '5.0',
      EnrollmentData: '',
    });
    expect(Object.keys(env.additionalContext)).toHaveLength(15); // 16 items, MAC twice
  });

  it('keeps the first value of a repeated item', () => {
    expect(env.additionalContext['MAC']).toBe('00-15-5D-01-02-03');
  });

  it('reads an Entra JWT token without line breaks', () => {
    const entra = parseEnrollmentEnvelope(fixture('enroll-entra-jwt.xml'));
    expect(entra.message).toBe('Enroll');
    expect(entra.deviceId).toBe('9F2A61D04C3B4E7A8D15B6C0E2F43A97');
    expect(entra.additionalContext['EnrollmentType']).toBe('Device');
    expect(entra.tokens).toHaveLength(1);
    expect(entra.tokens[0]!.valueType).toBe(VT_JWT);
    expect(entra.tokens[0]!.encodingType).toBe(ENCODING_BASE64_BINARY_SMS);
    expect(looksLikeJwt(decodeBase64Strict(entra.tokens[0]!.value)!.toString('utf8'))).toBe(true);
  });
});

describe('parseEnrollmentEnvelope: edge cases', () => {
  it('reports a foreign ValueType as such instead of dropping it', () => {
    const env = parseEnrollmentEnvelope(fixture('getpolicies-foreign-valuetype.xml'));
    expect(env.message).toBe('GetPolicies');
    expect(env.tokens).toEqual([
      {
        valueType: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3',
        encodingType: ENCODING_BASE64_BINARY_SMS,
        value: 'TUlJQmtUQ0IrZ0lKQUo=',
      },
    ]);
  });

  it('reports a BST without ValueType or EncodingType', () => {
    const xml = fixture('getpolicies-foreign-valuetype.xml').replace(/<wsse:BinarySecurityToken [^>]*>/, '<wsse:BinarySecurityToken>');
    expect(parseEnrollmentEnvelope(xml).tokens).toEqual([{ valueType: '', encodingType: null, value: 'TUlJQmtUQ0IrZ0lKQUo=' }]);
  });

  it('falls back to the Body when the Action is missing or unknown', () => {
    const noAction = fixture('enroll-federated.xml').replace(/<a:Action[\s\S]*?<\/a:Action>/, '');
    expect(parseEnrollmentEnvelope(noAction).message).toBe('Enroll');
    const odd = fixture('getpolicies-federated.xml').replace(/IPolicy\/GetPolicies/, 'IPolicy/Other');
    expect(parseEnrollmentEnvelope(odd).message).toBe('GetPolicies');
  });

  it('returns null for an unknown message', () => {
    const xml = fixture('discover-v5.xml');
    const env = parseEnrollmentEnvelope(xml);
    expect(env.message).toBeNull();
    expect(env.tokens).toEqual([]);
  });

  it('accepts an envelope without Header', () => {
    const xml = '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetPolicies/></s:Body></s:Envelope>';
    expect(parseEnrollmentEnvelope(xml)).toEqual({
      message: 'GetPolicies',
      messageId: null,
      tokens: [],
      deviceId: null,
      additionalContext: {},
    });
  });

  it('ignores BSTs outside Header/Security', () => {
    const xml =
      '<s:Envelope xmlns:s="urn:s"><s:Header><Other><BinarySecurityToken ValueType="x">QUFB</BinarySecurityToken></Other>' +
      '</s:Header><s:Body><RequestSecurityToken><BinarySecurityToken ValueType="y">QkJC</BinarySecurityToken></RequestSecurityToken></s:Body></s:Envelope>';
    const env = parseEnrollmentEnvelope(xml);
    expect(env.tokens).toEqual([]);
    expect(env.message).toBe('Enroll');
  });

  it('keeps a "__proto__" context item as plain data', () => {
    const xml =
      '<s:Envelope xmlns:s="urn:s"><s:Body><RequestSecurityToken><AdditionalContext>' +
      '<ContextItem Name="__proto__"><Value>polluted</Value></ContextItem>' +
      '<ContextItem Name="DeviceID"><Value>dev-1</Value></ContextItem>' +
      '<ContextItem Name="__proto__"><Value>second</Value></ContextItem>' +
      '</AdditionalContext></RequestSecurityToken></s:Body></s:Envelope>';
    const env = parseEnrollmentEnvelope(xml);
    expect(env.deviceId).toBe('dev-1');
    expect(Object.getPrototypeOf(env.additionalContext)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(env.additionalContext, '__proto__')).toBe(true);
    expect(env.additionalContext['__proto__']).toBe('polluted');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  const malformed: Array<[string, string]> = [
    ['truncated', fixture('enroll-federated.xml').slice(0, 1500)],
    ['not an envelope', '<GetPolicies xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy"/>'],
    ['envelope without Body', '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/></s:Envelope>'],
    ['Body not a direct child', '<s:Envelope xmlns:s="urn:s"><x><s:Body/></x></s:Envelope>'],
    ['JSON', '{"message":"GetPolicies"}'],
  ];
  it.each(malformed)('%s -> malformed', (_name, xml) => {
    expect(() => parseEnrollmentEnvelope(xml)).toThrowError(expect.objectContaining({ name: 'XmlError', code: 'malformed' }));
  });

  it('passes the size limit through', () => {
    expect(() => parseEnrollmentEnvelope(fixture('enroll-federated.xml'), { maxBytes: 1024 })).toThrowError(
      expect.objectContaining({ code: 'too_large' }),
    );
    try {
      parseEnrollmentEnvelope(`<s:Envelope xmlns:s="urn:s"><s:Body>${' '.repeat(300 * 1024)}</s:Body></s:Envelope>`);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(XmlError);
      expect((err as XmlError).code).toBe('too_large');
    }
  });
});

describe('decodeBase64Strict', () => {
  const hello = Buffer.from('hello world!').toString('base64'); // aGVsbG8gd29ybGQh
  const ok: Array<[string, string, string]> = [
    ['plain', hello, 'hello world!'],
    ['one pad', 'YWI=', 'ab'],
    ['two pads', 'YQ==', 'a'],
    ['line breaks inside', 'aGVs\nbG8g\r\nd29y\nbGQh', 'hello world!'],
    ['spaces and tabs inside and around', '  aGVsbG8g\td29y bGQh \n', 'hello world!'],
    ['whitespace inside the padding', 'YQ=\n=', 'a'],
    ['+ and / alphabet', '+/8=', '\u00fb\u00ff'],
  ];
  it.each(ok)('%s decodes', (_name, input, expected) => {
    expect(decodeBase64Strict(input)?.toString('latin1')).toBe(expected);
  });

  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['only whitespace', ' \n\t'],
    ['base64url alphabet', '-_8='],
    ['base64url without padding', 'YWI'],
    ['missing padding', 'YQ'],
    ['too much padding', 'YQ==='],
    ['three pads', 'Y==='],
    ['padding in the middle', 'YQ==YWI='],
    ['padding not at the end', 'Y=Q='],
    ['non-canonical trailing bits', 'YR=='],
    ['bad character', 'aGVs*G8g'],
    ['non-ASCII', 'aGVsbG8gé29y'],
    ['non-XML whitespace (NBSP)', 'aGVs\u00a0bG8g'],
    ['form feed is not XML whitespace', 'aGVs\fbG8g'],
    ['length not a multiple of 4', 'aGVsbG8'],
  ];
  it.each(bad)('%s -> null', (_name, input) => {
    expect(decodeBase64Strict(input)).toBeNull();
  });

  it('decodes exactly one layer of a double-base64 token', () => {
    const once = Buffer.from(FIXTURE_WRESULT).toString('base64');
    const twice = Buffer.from(once).toString('base64');
    const decoded = decodeBase64Strict(twice)!.toString('utf8');
    expect(decoded).toBe(once);
    expect(looksLikeJwt(decoded)).toBe(false);
    expect(looksLikeJwt(decodeBase64Strict(once)!.toString('utf8'))).toBe(true);
  });
});

describe('looksLikeJwt', () => {
  const seg = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const table: Array<[string, string, boolean]> = [
    ['fixture token', FIXTURE_WRESULT, true],
    ['unsigned (empty signature)', `${seg({ alg: 'none' })}.${seg({ sub: 'x' })}.`, true],
    ['two segments', `${seg({ alg: 'none' })}.${seg({ sub: 'x' })}`, false],
    ['four segments', `${seg({ alg: 'x' })}.a.b.c`, false],
    ['empty payload', `${seg({ alg: 'x' })}..c2ln`, false],
    ['header is an array', `${seg([1])}.${seg({})}.c2ln`, false],
    ['header is a string', `${seg('x')}.${seg({})}.c2ln`, false],
    ['header is null', `${seg(null)}.${seg({})}.c2ln`, false],
    ['header not JSON', `${Buffer.from('not json').toString('base64url')}.${seg({})}.c2ln`, false],
    ['standard base64 characters', `${seg({ alg: 'x' })}.a+b/.c2ln`, false],
    ['padding', `${seg({ alg: 'x' })}.YQ==.c2ln`, false],
    ['whitespace', ` ${FIXTURE_WRESULT}`, false],
    ['empty', '', false],
    ['a SAML-ish string', '<saml:Assertion/>', false],
  ];
  it.each(table)('%s -> %s', (_name, input, expected) => {
    expect(looksLikeJwt(input)).toBe(expected);
  });
});
