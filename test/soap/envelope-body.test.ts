/**
 * Issue #7, finding 1: what a message is comes from its Body, never from its Action header;
 * the DeviceID only from the RST's own AdditionalContext; the header BST is text only.
 */
import { describe, expect, it } from 'vitest';
import { ACTION_GET_POLICIES, ACTION_RST_WSTEP } from '../../src/soap/constants.js';
import { buildEnrollEnvelope, buildGetPoliciesEnvelope } from '../../src/soap/build.js';
import { parseEnrollmentEnvelope } from '../../src/soap/envelope.js';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
const enroll = (deviceId = 'DEV-1') => buildEnrollEnvelope({ token: TOKEN, deviceId, additionalContext: { DeviceName: 'PC-1' } });
const getPolicies = () => buildGetPoliciesEnvelope({ token: TOKEN });
const AC_NS = 'xmlns:ac="http://schemas.xmlsoap.org/ws/2006/12/authorization"';
const decoy = (id: string) => `<ac:AdditionalContext ${AC_NS}><ac:ContextItem Name="DeviceID"><ac:Value>${id}</ac:Value></ac:ContextItem></ac:AdditionalContext>`;

function withAction(xml: string, action: string): string {
  const out = xml.replace(/<a:Action s:mustUnderstand="1">[^<]*<\/a:Action>/, `<a:Action s:mustUnderstand="1">${action}</a:Action>`);
  expect(out).not.toBe(xml);
  return out;
}

function edit(xml: string, find: string | RegExp, replace: string): string {
  const out = xml.replace(find, replace);
  expect(out, `${String(find)} not found`).not.toBe(xml);
  return out;
}

const malformed = (xml: string) =>
  expect(() => parseEnrollmentEnvelope(xml)).toThrowError(expect.objectContaining({ name: 'XmlError', code: 'malformed' }));

describe('the Body decides the message, the Action never does', () => {
  it('an Enroll body under a GetPolicies Action is an Enroll, with its DeviceID', () => {
    const env = parseEnrollmentEnvelope(withAction(enroll(), ACTION_GET_POLICIES));
    expect(env).toMatchObject({ message: 'Enroll', deviceId: 'DEV-1' });
  });

  it('an Enroll body with an empty Action and another element before the RST is an Enroll', () => {
    const xml = edit(withAction(enroll(), ''), '<s:Body>', '<s:Body><Decoy/>');
    expect(parseEnrollmentEnvelope(xml)).toMatchObject({ message: 'Enroll', deviceId: 'DEV-1' });
  });

  it('an RST nested anywhere in the Body is an Enroll, whatever the Action', () => {
    const xml = edit(edit(withAction(enroll(), ACTION_GET_POLICIES), '<s:Body>', '<s:Body><Wrapper><Inner>'), '</s:Body>', '</Inner></Wrapper></s:Body>');
    expect(parseEnrollmentEnvelope(xml)).toMatchObject({ message: 'Enroll', deviceId: 'DEV-1' });
  });

  it('a GetPolicies body under the RST Action, or without Action, is a GetPolicies', () => {
    expect(parseEnrollmentEnvelope(withAction(getPolicies(), ACTION_RST_WSTEP)).message).toBe('GetPolicies');
    expect(parseEnrollmentEnvelope(edit(getPolicies(), /<a:Action[^>]*>[^<]*<\/a:Action>/, '')).message).toBe('GetPolicies');
  });
});

describe('ambiguous bodies are malformed', () => {
  const rst = (xml: string) => xml.slice(xml.indexOf('<wst:RequestSecurityToken'), xml.indexOf('</s:Body>'));

  it('a GetPolicies and an RST in one Body (either order)', () => {
    malformed(edit(getPolicies(), '</s:Body>', `${rst(enroll())}</s:Body>`));
    malformed(edit(enroll(), '<s:Body>', '<s:Body><GetPolicies/>'));
  });

  it('two RSTs', () => {
    malformed(edit(enroll(), '</s:Body>', `${rst(enroll('DEV-2'))}</s:Body>`));
  });

  it('two GetPolicies', () => {
    malformed(edit(getPolicies(), '</s:Body>', '<GetPolicies/></s:Body>'));
  });

  it('a GetPolicies that carries parts of an Enroll (AdditionalContext, a CSR BST, a RequestSecurityTokenCollection)', () => {
    malformed(edit(getPolicies(), '</GetPolicies>', `${decoy('DEV-X')}</GetPolicies>`));
    malformed(edit(getPolicies(), '</s:Body>', '<BinarySecurityToken ValueType="x">QUFB</BinarySecurityToken></s:Body>'));
    malformed(edit(getPolicies(), '</s:Body>', '<RequestSecurityTokenCollection/></s:Body>'));
  });
});

describe('one Header, one Body, one user token', () => {
  const body = (xml: string) => xml.slice(xml.indexOf('<s:Body'), xml.indexOf('</s:Envelope>'));

  it('a second Body (a GetPolicies, then an Enroll) is malformed', () => {
    malformed(edit(getPolicies(), '</s:Envelope>', `${body(enroll())}</s:Envelope>`));
    malformed(edit(enroll(), '</s:Envelope>', `${body(getPolicies())}</s:Envelope>`));
  });

  it('an RST, AdditionalContext or GetPolicies in the Header is malformed', () => {
    malformed(edit(getPolicies(), '</s:Header>', `${decoy('DEV-X')}</s:Header>`));
    malformed(edit(getPolicies(), '</s:Header>', '<wst:RequestSecurityToken xmlns:wst="urn:wst"/></s:Header>'));
    malformed(edit(enroll(), '</s:Header>', '<GetPolicies/></s:Header>'));
  });

  it('a second Header, or anything else beside them, is malformed', () => {
    malformed(edit(getPolicies(), '<s:Body', '<s:Header/><s:Body'));
    malformed(edit(getPolicies(), '</s:Envelope>', '<s:Extra/></s:Envelope>'));
    malformed(edit(getPolicies(), '<s:Header>', '<s:Extra/><s:Header>'));
  });

  it('a user token BinarySecurityToken outside Header/Security is malformed', () => {
    const bst = getPolicies().match(/<wsse:BinarySecurityToken[\s\S]*?<\/wsse:BinarySecurityToken>/)![0];
    const wsse = 'xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"';
    const loose = bst.replace('<wsse:BinarySecurityToken ', `<wsse:BinarySecurityToken ${wsse} `);
    malformed(edit(enroll(), '</wst:RequestType>', `</wst:RequestType>${loose}`));
    malformed(edit(getPolicies(), '</s:Header>', `<Other>${loose}</Other></s:Header>`));
    malformed(edit(getPolicies(), '</wsse:Security>', `<Nested>${bst}</Nested></wsse:Security>`));
    const jwt = loose.replace(/ValueType="[^"]*"/, 'ValueType="urn:ietf:params:oauth:token-type:jwt"');
    malformed(edit(enroll(), '</wst:RequestType>', `</wst:RequestType>${jwt}`));
  });
});

describe('the DeviceID comes from the RST\'s own AdditionalContext only', () => {
  it('a decoy AdditionalContext placed first in the Body is refused, not read', () => {
    malformed(edit(enroll('DEV-REAL'), '<s:Body>', `<s:Body>${decoy('DEV-DECOY')}`));
    // Without the decoy: the RST's own; without any AdditionalContext: an Enroll without DeviceID.
    expect(parseEnrollmentEnvelope(enroll('DEV-REAL')).deviceId).toBe('DEV-REAL');
    const bare = edit(enroll(), /<ac:AdditionalContext[\s\S]*<\/ac:AdditionalContext>/, '');
    expect(parseEnrollmentEnvelope(bare)).toMatchObject({ message: 'Enroll', deviceId: null, additionalContext: {} });
  });

  it('a decoy AdditionalContext nested inside the RST is refused', () => {
    malformed(edit(enroll('DEV-REAL'), '</wst:TokenType>', `${decoy('DEV-DECOY')}</wst:TokenType>`));
  });

  it('two AdditionalContext inside the RST', () => {
    malformed(edit(enroll('DEV-REAL'), '</wst:RequestSecurityToken>', `${decoy('DEV-DECOY')}</wst:RequestSecurityToken>`));
  });

  it('two DeviceID items, same or different values, whatever their case', () => {
    const item = (id: string) => `<ac:ContextItem Name="DeviceID"><ac:Value>${id}</ac:Value></ac:ContextItem>`;
    malformed(edit(enroll('DEV-1'), '</ac:AdditionalContext>', `${item('DEV-2')}</ac:AdditionalContext>`));
    malformed(edit(enroll('DEV-1'), '</ac:AdditionalContext>', `${item('DEV-1')}</ac:AdditionalContext>`));
    malformed(edit(enroll('DEV-1'), '</ac:AdditionalContext>', `${item('DEV-2').replace('DeviceID', ' deviceid ')}</ac:AdditionalContext>`));
  });

  it('a DeviceID item with two Values, or with markup inside its Value', () => {
    malformed(edit(enroll('DEV-1'), '<ac:Value>DEV-1</ac:Value>', '<ac:Value>DEV-1</ac:Value><ac:Value>DEV-2</ac:Value>'));
    malformed(edit(enroll('DEV-1'), '<ac:Value>DEV-1</ac:Value>', '<ac:Value>DEV-<!-- x -->1</ac:Value>'));
    malformed(edit(enroll('DEV-1'), '<ac:Value>DEV-1</ac:Value>', '<ac:Value>DEV-<b>2</b>1</ac:Value>'));
  });

  it('a ContextItem outside the AdditionalContext, or one naming itself twice', () => {
    malformed(edit(enroll('DEV-1'), '</wst:RequestType>', '</wst:RequestType><ac:ContextItem xmlns:ac="urn:ac" Name="DeviceID"><ac:Value>DEV-2</ac:Value></ac:ContextItem>'));
    malformed(edit(enroll('DEV-1'), '<ac:ContextItem Name="DeviceID">', '<ac:ContextItem Name="Other" ac:Name="DeviceID">'));
  });
});

describe('the header BinarySecurityToken holds text only', () => {
  const bstOpen = /(<wsse:BinarySecurityToken ValueType="[^"]*DeviceEnrollmentUserToken" [^>]*>)([^<]*)/;
  const cases: Array<[string, (v: string) => string]> = [
    ['a child element', (v) => `${v.slice(0, 8)}<x>QUFB</x>${v.slice(8)}`],
    ['a comment', (v) => `${v.slice(0, 8)}<!-- split -->${v.slice(8)}`],
    ['CDATA', (v) => `${v.slice(0, 8)}<![CDATA[${v.slice(8)}]]>`],
    ['only CDATA', (v) => `<![CDATA[${v}]]>`],
  ];
  it.each(cases)('%s -> malformed (white space and character references stay fine)', (_name, mangle) => {
    for (const xml of [getPolicies(), enroll()]) malformed(xml.replace(bstOpen, (_m, open: string, value: string) => open + mangle(value)));
    const spaced = getPolicies().replace(bstOpen, (_m, open: string, value: string) => `${open}\n  ${value.slice(0, 4)}&#x${value.charCodeAt(4).toString(16)};${value.slice(5)}\n`);
    expect(Buffer.from(parseEnrollmentEnvelope(spaced).tokens[0]!.value, 'base64').toString()).toBe(TOKEN);
  });
});
