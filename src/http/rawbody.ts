/**
 * Reads a small raw request body (SOAP endpoints; the form/JSON body parser never sees XML).
 * Over the limit it stops buffering at once; Node discards the rest after the response.
 */
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

const utf8 = new TextDecoder('utf-8', { fatal: true });

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
      try {
        resolve(utf8.decode(Buffer.concat(chunks)));
      } catch {
        reject(new BodyError('The request is not valid UTF-8.'));
      }
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

/**
 * The top-level object keys of a JSON text that appear more than once (after JSON unescaping:
 * "tok\u0065n" is "token"). JSON.parse keeps the last of a repeated key silently, so a reader
 * that keeps the first would see another value: contract §3 makes a field given twice a 400.
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
      let j = i + 1;
      while (j < json.length && json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
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
