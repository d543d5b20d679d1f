/**
 * The one bounded HTTP client of every upstream kind (OIDC discovery, JWKS and token
 * endpoint; SAML and federation metadata; the WS-Trust STS). Every call goes through here:
 * a hard deadline that also covers reading the body (a server that sends headers and then
 * stalls must not hang the sign-in), a size cap, and failures turned into the branded
 * `upstream_unreachable` error (502 refused, 504 too slow). Answers are read whole, so a
 * token response can be kept and played back (exchange.ts).
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { FedbridgeError } from '../errors.js';

/** What a call sends: the subset of fetch's options every upstream uses. */
export interface RequestOptions {
  method: string;
  headers?: Record<string, string>;
  /** string, URLSearchParams or bytes; openid-client passes its FetchBody, of which it uses only these. */
  body?: unknown;
}

/** Discovery documents, JWKS, token responses, metadata and STS answers are KiB to a few hundred KiB; refuse anything absurd. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Statuses whose Response may not carry a body. */
const NULL_BODY = new Set([101, 204, 205, 304]);

export interface Answer {
  status: number;
  statusText: string;
  headers: Headers;
  body: Uint8Array | null;
}

export function toResponse(a: Answer): Response {
  return new Response(a.body && new Uint8Array(a.body), { status: a.status, statusText: a.statusText, headers: a.headers });
}

/** What a request was, for logs: method and address without the query string. */
function describe(url: string, method: string): string {
  const u = new URL(url);
  return `${method} ${u.origin}${u.pathname}`;
}

function tooLarge(url: string, method: string): FedbridgeError {
  return new FedbridgeError(502, 'upstream_error', `${describe(url, method)}: answer over ${MAX_BODY_BYTES} bytes`);
}

/**
 * node:http with keep-alive rather than fetch(): the token endpoint is called once per
 * sign-in, and undici's fetch costs about as much CPU as all the rest of the exchange.
 */
const agents = {
  'http:': new HttpAgent({ keepAlive: true, maxSockets: 64 }),
  'https:': new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
};

function bodyBytes(body: RequestOptions['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof URLSearchParams) return Buffer.from(body.toString());
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new TypeError('streamed request bodies are not used with upstreams');
}

function headersOf(raw: string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  return headers;
}

/**
 * One request with a deadline of `timeoutMs` for the whole answer: connect, headers and body.
 * (openid-client's own `signal` counts whole seconds, 30 by default: this one decides.)
 */
export function fetchAnswer(url: string, options: RequestOptions, timeoutMs: number): Promise<Answer> {
  const u = new URL(url);
  const what = describe(url, options.method);
  const body = bodyBytes(options.body);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<Answer>((resolve, reject) => {
    let settled = false;
    let timedOut = false;
    const req = send(u, {
      method: options.method,
      headers: { ...(options.headers ?? {}), ...(body ? { 'content-length': String(body.length) } : {}) },
      agent: agents[u.protocol as 'http:' | 'https:'],
    });
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy();
    }, timeoutMs);
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      const code = (err as { code?: string }).code;
      reject(
        err instanceof FedbridgeError
          ? err
          : timedOut
            ? new FedbridgeError(504, 'upstream_unreachable', `${what}: no answer in ${timeoutMs} ms`)
            : new FedbridgeError(502, 'upstream_unreachable', `${what}: connection failed${code ? ` (${code})` : ''}`),
      );
    };
    req.on('error', fail);
    req.on('response', (res) => {
      if (Number(res.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return fail(tooLarge(url, options.method));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) fail(tooLarge(url, options.method));
        else chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('close', () => res.complete || fail(new Error('answer cut short')));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const status = res.statusCode ?? 502;
        resolve({ status, statusText: res.statusMessage ?? '', headers: headersOf(res.rawHeaders), body: NULL_BODY.has(status) ? null : Buffer.concat(chunks) });
      });
    });
    req.end(body);
  });
}
