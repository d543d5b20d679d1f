/** Shared by the fedbridge/verify tests: recorded fixtures, their keys, and fault reading. */
import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import { parseXml, elementsByLocalName, firstByLocalName, text } from '../../src/soap/xml.js';
import { publicJwk, type FixtureKeys } from '../fixtures/enrollment/generate.js';

export * from '../fixtures/enrollment/generate.js';

export const fixture = (name: string) => readFileSync(new URL(`../fixtures/enrollment/${name}`, import.meta.url), 'utf8');

const keys = JSON.parse(fixture('keys.json')) as FixtureKeys;
export const fixtureKeys = keys;
export const fedbridgeJwks: JSONWebKeySet = { keys: [publicJwk(keys.fedbridge)] };
export const entraJwks: JSONWebKeySet = { keys: [publicJwk(keys.entra)] };

/** The subcode, RelatesTo and reason of a SOAP fault envelope. */
export function readFault(xml: string): { code: string; subcode: string; relatesTo: string | null; reason: string } {
  const doc = parseXml(xml);
  const code = firstByLocalName(doc, 'Code')!;
  const values = elementsByLocalName(code, 'Value').map((v) => text(v));
  const relates = firstByLocalName(doc, 'RelatesTo');
  return { code: values[0]!, subcode: values[1]!, relatesTo: relates ? text(relates) : null, reason: text(firstByLocalName(doc, 'Text')!) };
}

/** The MessageID of a recorded envelope. */
export function messageIdOf(xml: string): string {
  return text(firstByLocalName(parseXml(xml), 'MessageID')!);
}
