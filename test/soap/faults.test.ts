import { describe, expect, it } from 'vitest';
import { ACTION_ADDRESSING_FAULT, ACTION_RSTRC_WSTEP, NS_ADDRESSING, NS_SOAP12, NS_WSSE } from '../../src/soap/constants.js';
import { buildSoapFault, xmlEscape, type FaultCode } from '../../src/soap/faults.js';
import { childElements, firstByLocalName, parseXml, text } from '../../src/soap/xml.js';

function readFault(xml: string) {
  const doc = parseXml(xml);
  const fault = firstByLocalName(doc, 'Fault')!;
  const code = firstByLocalName(fault, 'Code')!;
  const [value, subcode] = childElements(code);
  const subValue = firstByLocalName(subcode!, 'Value')!;
  const reason = firstByLocalName(fault, 'Text')!;
  return { doc, fault, value: value!, subValue, reason };
}

describe('buildSoapFault', () => {
  const codes: Array<[FaultCode, string]> = [
    ['s:MessageFormat', 's:Receiver'],
    ['s:Authentication', 's:Receiver'],
    ['s:Authorization', 's:Receiver'],
    ['s:CertificateRequest', 's:Receiver'],
    ['s:EnrollmentServer', 's:Receiver'],
    ['s:InternalServiceFault', 's:Receiver'],
    ['a:InvalidSecurity', 's:Sender'],
  ];
  it.each(codes)('%s is well-formed with top code %s', (code, top) => {
    const { doc, fault, value, subValue, reason } = readFault(buildSoapFault({ code, reason: 'nope' }));
    expect(doc.documentElement!.namespaceURI).toBe(NS_SOAP12);
    expect(fault.namespaceURI).toBe(NS_SOAP12);
    expect(text(value)).toBe(top);
    expect(text(subValue)).toBe(code);
    expect(text(reason)).toBe('nope');
    expect(reason.getAttributeNS('http://www.w3.org/XML/1998/namespace', 'lang')).toBe('en-US');
    // The QName prefix must resolve: s -> SOAP 1.2, a -> WS-Security for InvalidSecurity.
    const prefix = code.split(':')[0]!;
    expect(subValue.lookupNamespaceURI(prefix)).toBe(code === 'a:InvalidSecurity' ? NS_WSSE : NS_SOAP12);
    expect(value.lookupNamespaceURI('s')).toBe(NS_SOAP12);
  });

  it('defaults to the WS-Addressing fault action with mustUnderstand and no RelatesTo', () => {
    const { doc } = readFault(buildSoapFault({ code: 's:Authentication', reason: 'x' }));
    const action = firstByLocalName(doc, 'Action')!;
    expect(action.namespaceURI).toBe(NS_ADDRESSING);
    expect(text(action)).toBe(ACTION_ADDRESSING_FAULT);
    expect(action.getAttributeNS(NS_SOAP12, 'mustUnderstand')).toBe('1');
    expect(firstByLocalName(doc, 'RelatesTo')).toBeNull();
  });

  it('echoes RelatesTo verbatim and honours action and lang', () => {
    const { doc, reason } = readFault(
      buildSoapFault({
        code: 's:Authorization',
        reason: 'Ce compte ne peut pas inscrire',
        relatesTo: 'urn:uuid: 3f1c9a52-7d0e-4b8a-9c61-2e5d04a7b913',
        action: ACTION_RSTRC_WSTEP,
        lang: 'fr-FR',
      }),
    );
    expect(firstByLocalName(doc, 'RelatesTo')!.textContent).toBe('urn:uuid: 3f1c9a52-7d0e-4b8a-9c61-2e5d04a7b913');
    expect(text(firstByLocalName(doc, 'Action')!)).toBe(ACTION_RSTRC_WSTEP);
    expect(reason.getAttributeNS('http://www.w3.org/XML/1998/namespace', 'lang')).toBe('fr-FR');
  });

  it('escapes the reason, RelatesTo and lang', () => {
    const hostile = `</s:Text></s:Reason><s:Detail>pwn</s:Detail><x a="'&`;
    const xml = buildSoapFault({ code: 's:MessageFormat', reason: hostile, relatesTo: '<r>&', lang: 'en"><x' });
    expect(xml).not.toContain('<s:Detail>');
    const { doc, reason } = readFault(xml);
    expect(reason.textContent).toBe(hostile);
    expect(firstByLocalName(doc, 'RelatesTo')!.textContent).toBe('<r>&');
    expect(firstByLocalName(doc, 'Detail')).toBeNull();
  });

  it('stays well-formed when the reason contains characters XML cannot carry', () => {
    const { reason } = readFault(buildSoapFault({ code: 's:EnrollmentServer', reason: 'a\u0000b\u001bc\ud800d' }));
    expect(reason.textContent).toBe('a?b?c?d');
  });

  it('refuses an unknown code', () => {
    expect(() => buildSoapFault({ code: 's:Bogus' as FaultCode, reason: 'x' })).toThrow(TypeError);
  });
});

describe('xmlEscape', () => {
  const table: Array<[string, string]> = [
    ['plain', 'plain'],
    ['a & b', 'a &amp; b'],
    ['<tag>', '&lt;tag&gt;'],
    [`"double" 'single'`, '&quot;double&quot; &apos;single&apos;'],
    ['&amp;', '&amp;amp;'],
    ['tab\tnew\nline\r', 'tab\tnew\nline\r'],
    ['emoji 😀 ok', 'emoji 😀 ok'],
    ['nul\u0000', 'nul?'],
    ['lone \udc00 low', 'lone ? low'],
    ['pair \ud83d\ude00 then lone \ud83d', 'pair \ud83d\ude00 then lone ?'],
    ['\ufffe\uffff', '??'],
  ];
  it.each(table)('%j -> %j', (input, expected) => {
    expect(xmlEscape(input)).toBe(expected);
  });
});
