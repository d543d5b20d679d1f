/**
 * The lean path for `POST /introspect` (docs/operations.md, "Capacity"). Enrollment servers call
 * it on every enrollment message, and under load Koa's context, router and middleware chain cost
 * about a fifth of the token check itself. So a plain node:http request listener sits in front of
 * Koa's: it answers exactly `POST /introspect` (that method, that path, no query string) and hands
 * every other request to Koa unchanged, including the other spellings of the path
 * (`/introspect/`, `/INTROSPECT`, `/introspect?x=1`), which Koa's route answers as before.
 *
 * It does what Koa's stack does for that route, with the same pieces: the request id
 * (src/http/middleware.ts), the answer (src/actions/introspect.ts answerIntrospection: client
 * authentication, the body rules, the replay read), the JSON error shape (src/http/respond.ts), the
 * security headers, one access-log line and the duration metric per request, and the drain gate's
 * `Connection: close` (src/observability/drain.ts). test/e2e/introspect-fastpath.test.ts sends the
 * same hostile requests to this listener and to Koa alone and compares the answers.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';
import type { AppDeps } from './deps.js';
import type { Lifecycle } from '../observability/drain.js';
import { answerIntrospection } from '../actions/introspect.js';
import { FedbridgeError, internalError, isFedbridgeError } from '../errors.js';
import { IDP_RETRY_AFTER_SECONDS } from './middleware.js';
import { accessLineWriter, type AccessFields } from '../log.js';

type AccessWriter = (f: AccessFields) => void;

/** The request listener node:http calls. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** A client's X-Request-Id is kept only if it looks like one (as src/http/middleware.ts requestId()). */
const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;
const ROUTE = '/introspect';

/** Is this request exactly the lean path's? Anything else is Koa's. */
export function isFastPath(req: IncomingMessage): boolean {
  return req.method === 'POST' && req.url === ROUTE;
}

/**
 * Makes every listener built from `app` (src/http/listen.ts, or `app.listen`) take the lean path
 * for `POST /introspect`; Koa answers everything else.
 */
export function installFastPath(app: Koa, deps: AppDeps, lifecycle: Lifecycle): void {
  const koaCallback = app.callback.bind(app);
  app.callback = () => {
    const koa = koaCallback();
    const fast = introspectListener(app, deps, lifecycle);
    return ((req: IncomingMessage, res: ServerResponse) => (isFastPath(req) ? fast(req, res) : koa(req, res))) as ReturnType<Koa['callback']>;
  };
}

/**
 * One request's header access for answerIntrospection (src/actions/clientauth.ts HeaderAccess):
 * reads request headers, and keeps the response headers the answer sets in a flat
 * [name, value, …] list, as node:http's setHeader (which Koa's ctx.set calls) would: a name set
 * again keeps its place and takes the new value. A class, not per-request closures.
 */
class LeanHeaders {
  /** The answer's response headers, after X-Request-Id (the order Koa's stack sets them in). */
  readonly list: string[];

  constructor(
    private readonly req: IncomingMessage,
    requestId: string,
  ) {
    this.list = ['X-Request-Id', requestId];
  }

  get(name: string): string {
    const v = this.req.headers[name.toLowerCase()];
    return typeof v === 'string' ? v : '';
  }

  set(name: string, value: string): void {
    const list = this.list;
    const key = name.toLowerCase();
    for (let i = 0; i < list.length; i += 2) {
      if (list[i].toLowerCase() === key) {
        list[i] = name;
        list[i + 1] = value;
        return;
      }
    }
    list.push(name, value);
  }
}

/** The lean listener for `POST /introspect` alone (exported for the differential test). */
export function introspectListener(app: Koa, deps: AppDeps, lifecycle: Lifecycle): RequestListener {
  // The same access-log line as src/http/middleware.ts accessLog(): its fields are fixed and safe.
  const access = accessLineWriter(deps.log);
  return (req, res) => handle(app, deps, lifecycle, access, req, res);
}

async function handle(app: Koa, deps: AppDeps, lifecycle: Lifecycle, access: AccessWriter, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    await answer(app, deps, lifecycle, access, req, res);
  } catch (err) {
    // Only a failure to write the answer gets here (the socket is gone): nothing to answer.
    deps.log.error({ err }, 'introspection answer failed');
    res.destroy();
  }
}

async function answer(app: Koa, deps: AppDeps, lifecycle: Lifecycle, access: AccessWriter, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const start = performance.now();
  const given = req.headers['x-request-id'];
  const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  // Koa's own request getters decide the client address and the scheme (trusted proxy or not),
  // exactly as they do for every other route.
  const kreq = Object.create(app.request) as Koa.Request;
  (kreq as { req: IncomingMessage }).req = req;
  (kreq as { app: Koa }).app = app;
  const ip = kreq.ip;

  // Response headers, in the order Koa's stack sets them (the answer then the middleware).
  const io = new LeanHeaders(req, requestId);
  let status = 200;
  let body: string;
  try {
    body = JSON.stringify(await answerIntrospection({ req, headers: io, requestId, ip }, deps));
  } catch (raw) {
    // As src/http/middleware.ts errorHandler() and src/http/respond.ts sendJsonError() answer a machine route.
    const err: FedbridgeError = isFedbridgeError(raw) ? raw : internalError((raw as Error | undefined)?.message);
    if ((err.status === 502 || err.status === 504) && err.retryAfter === undefined) err.retryAfter = IDP_RETRY_AFTER_SECONDS;
    const logFields = { reqId: requestId, code: err.code, status: err.status, detail: err.message };
    if (err.status >= 500) deps.log.error({ ...logFields, err: raw }, 'request failed');
    else deps.log.warn(logFields, 'request refused');
    status = err.status;
    if (err.retryAfter !== undefined) io.set('Retry-After', String(err.retryAfter));
    io.set('Cache-Control', 'no-store');
    body = JSON.stringify({ error: err.code, error_description: err.expose ? err.message : 'internal error' });
  }
  // The headers below are never among the answer's (Cache-Control, WWW-Authenticate,
  // Retry-After): appended in Koa's order, without the search.
  const headers = io.list;
  headers.push('Content-Type', 'application/json; charset=utf-8');
  // The drain gate: decided when the answer leaves, so a request begun before the signal ends its connection too.
  if (lifecycle.draining) headers.push('Connection', 'close');
  headers.push('X-Content-Type-Options', 'nosniff', 'X-Frame-Options', 'DENY', 'Referrer-Policy', 'no-referrer');
  if (kreq.protocol === 'https') headers.push('Strict-Transport-Security', 'max-age=31536000');

  const ms = performance.now() - start;
  deps.metrics.httpDuration.observe({ route: ROUTE, method: 'POST', status: String(status) }, ms / 1000);
  access({ reqId: requestId, method: 'POST', url: ROUTE, status, ms: Math.round(ms * 10) / 10, ip });

  // The client went away while we worked: as Koa (respond()), end without an answer.
  if (res.writableEnded) return;
  if (res.socket && !res.socket.writable) {
    res.end();
    return;
  }
  headers.push('Content-Length', String(Buffer.byteLength(body)));
  // One writeHead with the whole list: node:http serializes it once.
  res.writeHead(status, headers);
  res.end(body);
}
