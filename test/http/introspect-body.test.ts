/**
 * /introspect's own strict body reader (src/http/rawbody.ts parseFormOrJson, docs/enrollment-server.md "Any language: POST /introspect"):
 * form or JSON with top-level string fields, a size limit, and a field given twice refused.
 */
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseFormOrJson } from '../../src/http/rawbody.js';

const LIMIT = 1024;
function req(body: string | Buffer | Buffer[], contentType?: string, headers: Record<string, string> = {}): IncomingMessage {
  const chunks = Array.isArray(body) ? body : [typeof body === 'string' ? Buffer.from(body) : body];
  const stream = Readable.from(chunks) as unknown as IncomingMessage;
  stream.headers = { ...(contentType ? { 'content-type': contentType } : {}), ...headers };
  return stream;
}
const parse = (body: string | Buffer | Buffer[], type?: string, headers?: Record<string, string>) => parseFormOrJson(req(body, type, headers), LIMIT);

describe('forms', () => {
  it('reads fields, decoding + and percent escapes', async () => {
    expect(await parse('token=a%2Bb+c&consume=true', 'application/x-www-form-urlencoded')).toEqual({ ok: true, fields: { token: 'a+b c', consume: 'true' } });
  });
  it('accepts parameters and any case in the content type', async () => {
    expect(await parse('token=x', 'Application/X-WWW-Form-Urlencoded; charset=UTF-8')).toMatchObject({ ok: true, fields: { token: 'x' } });
  });
  it('a field given twice is a 400, also when one of them is percent-encoded', async () => {
    expect(await parse('token=a&token=b', 'application/x-www-form-urlencoded')).toMatchObject({ ok: false, status: 400 });
    expect(await parse('token=a&%74oken=b', 'application/x-www-form-urlencoded')).toMatchObject({ ok: false, status: 400 });
    expect(await parse('token=a&consume=true&consume=false', 'application/x-www-form-urlencoded')).toMatchObject({ ok: false, status: 400 });
  });
  it('bracket keys stay plain names (no nested objects or arrays)', async () => {
    const r = await parse('token[]=a&token[x]=b', 'application/x-www-form-urlencoded');
    expect(r).toMatchObject({ ok: true });
    expect(r.ok && r.fields.token).toBeUndefined();
  });
  it('__proto__ is an ordinary field: nothing is polluted', async () => {
    const r = await parse('__proto__=x&constructor=y&token=t', 'application/x-www-form-urlencoded');
    expect(r.ok && r.fields.token).toBe('t');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('JSON', () => {
  it('reads an object, also as application/…+json', async () => {
    expect(await parse('{"token":"t","consume":false}', 'application/json')).toEqual({ ok: true, fields: { token: 't', consume: false } });
    expect(await parse('{"token":"t"}', 'application/scim+json; charset=utf-8')).toMatchObject({ ok: true, fields: { token: 't' } });
  });
  it('a key given twice is a 400, also when escaped', async () => {
    expect(await parse('{"token":"a","token":"b"}', 'application/json')).toMatchObject({ ok: false, status: 400 });
    expect(await parse('{"token":"a","tok\\u0065n":"b"}', 'application/json')).toMatchObject({ ok: false, status: 400 });
  });
  it('a repeated key inside a nested value is not a repeated field', async () => {
    expect(await parse('{"token":"a","x":{"k":1,"k":2}}', 'application/json')).toMatchObject({ ok: true, fields: { token: 'a' } });
  });
  it('anything but an object is a 400; an empty body has no fields', async () => {
    for (const body of ['[]', '["token"]', '42', '"token"', 'null', '{"token": ', 'token=x']) {
      expect(await parse(body, 'application/json')).toMatchObject({ ok: false, status: 400 });
    }
    expect(await parse('  \n', 'application/json')).toEqual({ ok: true, fields: {} });
  });
});

describe('limits and encodings', () => {
  it('over the limit is a 413, whether declared or streamed', async () => {
    const big = `token=${'A'.repeat(LIMIT)}`;
    expect(await parse(big, 'application/x-www-form-urlencoded')).toMatchObject({ ok: false, status: 413 });
    expect(await parse('token=x', 'application/x-www-form-urlencoded', { 'content-length': String(LIMIT + 1) })).toMatchObject({ ok: false, status: 413 });
  });
  it('a body that is not UTF-8 is a 400, never read with replacement characters', async () => {
    const body = Buffer.concat([Buffer.from('{"token":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expect(await parse(body, 'application/json')).toMatchObject({ ok: false, status: 400 });
  });
  it('overlong forms, encoded surrogates and a cut sequence are not UTF-8 either', async () => {
    for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
      const body = Buffer.concat([Buffer.from('{"token":"'), Buffer.from(bad), Buffer.from('"}')]);
      expect(await parse(body, 'application/json')).toMatchObject({ ok: false, status: 400 });
    }
  });
  it('a leading byte order mark is dropped, and a character split across chunks is read whole', async () => {
    expect(await parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"token":"t"}')]), 'application/json')).toMatchObject({ ok: true, fields: { token: 't' } });
    const whole = Buffer.from('{"token":"Ä日本"}');
    expect(await parse([whole.subarray(0, 12), whole.subarray(12, 14), whole.subarray(14)], 'application/json')).toMatchObject({ ok: true, fields: { token: 'Ä日本' } });
  });
  it('another content type (or none) has no fields', async () => {
    expect(await parse('token=x', 'text/plain')).toEqual({ ok: true, fields: {} });
    expect(await parse('{"token":"x"}')).toEqual({ ok: true, fields: {} });
    expect(await parse('<x/>', 'application/soap+xml')).toEqual({ ok: true, fields: {} });
  });
});
