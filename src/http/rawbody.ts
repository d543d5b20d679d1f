/**
 * Reads a small raw request body (SOAP endpoints; the form/JSON body parser never sees XML).
 * Over the limit it stops buffering at once; Node discards the rest after the response.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';

export class BodyError extends Error {
  /** too_large: over the limit; unreadable: not UTF-8, or the connection failed. */
  readonly kind: 'too_large' | 'unreadable';
  constructor(message: string, kind: 'too_large' | 'unreadable' = 'unreadable') {
    super(message);
    this.name = 'BodyError';
    this.kind = kind;
  }
}

export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyError(`The request is larger than ${limit} bytes.`, 'too_large'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume(); // drain without keeping anything
        reject(new BodyError(`The request is larger than ${limit} bytes.`, 'too_large'));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      // Checked first, then decoded: toString alone would put U+FFFD in place of bad bytes. A
      // leading byte order mark is dropped, as a TextDecoder would.
      if (!isUtf8(bytes)) reject(new BodyError('The request is not valid UTF-8.'));
      else resolve(bytes.toString('utf8', bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new BodyError(`The request body could not be read (${err.message}).`));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** A JSON string from its opening quote (sticky: matched where lastIndex points). */
const JSON_STRING = /"[^"\\]*(?:\\.[^"\\]*)*"/y;

/**
 * The top-level object keys of a JSON text that appear more than once (after JSON unescaping:
 * "tok\u0065n" is "token"). JSON.parse keeps the last of a repeated key silently, so a reader
 * that keeps the first would see another value: docs/enrollment-server.md makes a field given twice a 400.
 * Call it on text JSON.parse has already accepted; anything else returns [].
 */
export function duplicateTopLevelKeys(json: string): string[] {
  const seen = new Set<string>();
  const dups = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      // The string's end, found by the regex engine rather than a character loop (a token
      // value is most of the body, on /introspect's hot path).
      JSON_STRING.lastIndex = i;
      if (!JSON_STRING.test(json)) return [];
      const j = JSON_STRING.lastIndex - 1;
      if (depth === 1 && expectKey) {
        let key: string;
        try {
          key = JSON.parse(json.slice(i, j + 1)) as string;
        } catch {
          return [];
        }
        if (seen.has(key)) dups.add(key);
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth === 1) expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return [...dups];
}

/** What a form or JSON body of one small machine route holds (see parseFormOrJson). */
export type FieldsResult =
  | { ok: true; fields: Record<string, unknown> }
  | { ok: false; status: 400 | 413; detail: string };

/** application/json and its structured-syntax relatives (application/…+json). */
const JSON_TYPE = /^application\/(?:json|[a-z0-9!#$&^_.-]+\+json)$/;
const FORM_TYPE = 'application/x-www-form-urlencoded';

/** The media type of a Content-Type header, lower-cased, without parameters. */
function mediaType(contentType: string | undefined): string {
  if (!contentType) return '';
  const i = contentType.indexOf(';');
  return (i < 0 ? contentType : contentType.slice(0, i)).trim().toLowerCase();
}

/**
 * Reads a form (application/x-www-form-urlencoded) or JSON body of at most `limit` bytes, for
 * one machine route (/introspect, docs/enrollment-server.md) whose fields are top-level strings. Strict:
 * UTF-8 only, JSON must be an object, and a field given twice (in a form, or as a repeated
 * JSON key) is refused: readers that keep the first or the last would disagree. Any other
 * content type reads as no fields (the route then says what is missing).
 */
export async function parseFormOrJson(req: IncomingMessage, limit: number): Promise<FieldsResult> {
  const type = mediaType(req.headers['content-type']);
  const kind = type === FORM_TYPE ? 'form' : JSON_TYPE.test(type) ? 'json' : null;
  if (!kind) {
    req.resume(); // not read: discard it
    return { ok: true, fields: {} };
  }
  let text: string;
  try {
    text = await readBody(req, limit);
  } catch (err) {
    if (err instanceof BodyError && err.kind === 'too_large') return { ok: false, status: 413, detail: 'request body too large' };
    return { ok: false, status: 400, detail: 'the request body is unreadable' };
  }
  if (kind === 'json') {
    if (/^[\x20\x09\x0a\x0d]*$/.test(text)) return { ok: true, fields: {} };
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { ok: false, status: 400, detail: 'the body is not valid JSON' };
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, status: 400, detail: 'expected a JSON object' };
    if (duplicateTopLevelKeys(text).length > 0) return { ok: false, status: 400, detail: 'a field is given more than once' };
    return { ok: true, fields: parsed as Record<string, unknown> };
  }
  const fields: Record<string, unknown> = Object.create(null);
  for (const [k, v] of new URLSearchParams(text)) {
    if (Object.hasOwn(fields, k)) return { ok: false, status: 400, detail: 'a field is given more than once' };
    fields[k] = v;
  }
  return { ok: true, fields };
}
