/**
 * The HTTP listener. Requests Node refuses before Koa sees them (a request line or headers
 * over Node's 16 KiB limit, malformed HTTP) still get a small page with a status that says
 * why, `Cache-Control: no-store` and a strict CSP, instead of a bare status line: the branded
 * error page in the language of the request's Accept-Language when Node had read it, else English.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type Koa from 'koa';
import { Views } from './views.js';

/**
 * How long a client may take (README, "Operating it"). Node checks the headers and request
 * timeouts only every `connectionsCheckingInterval` (30 s by default, which let slow headers
 * live 15–27 s and slow bodies ~39 s), so it is checked every second here: a slow client is
 * cut within a second of its limit.
 */
export interface ServerTimeouts {
  /** Whole request line and headers. */
  headersMs: number;
  /** The whole request, headers and body. */
  requestMs: number;
  /** How often Node looks for connections past those two limits. */
  checkEveryMs: number;
  /** A socket with no traffic either way (a client that stops reading the answer, or sends nothing). */
  idleMs: number;
  /** A kept-alive connection waiting for its next request. */
  keepAliveMs: number;
}

export const SERVER_TIMEOUTS: Readonly<ServerTimeouts> = {
  headersMs: 10_000,
  requestMs: 30_000,
  checkEveryMs: 1_000,
  idleMs: 30_000,
  keepAliveMs: 5_000,
};

let views: Views | undefined;

/** What the refused page says, per status (message keys of views/locales). */
const REFUSED: Record<number, { code: string; key: string; reason: string }> = {
  400: { code: 'invalid_request', key: 'error.malformed_request', reason: 'Bad Request' },
  408: { code: 'request_timeout', key: 'error.request_timeout', reason: 'Request Timeout' },
  431: { code: 'request_too_large', key: 'error.headers_too_large', reason: 'Request Header Fields Too Large' },
};

/**
 * The Accept-Language header of a request Node refused, read from the bytes it had parsed
 * (`rawPacket`; absent for a timeout). Only a short, plain header counts; anything else is English.
 */
export function rawAcceptLanguage(raw: unknown): string | undefined {
  if (!Buffer.isBuffer(raw)) return undefined;
  const head = raw.subarray(0, 64 * 1024).toString('latin1');
  const m = /\r?\naccept-language[ \t]*:[ \t]*([A-Za-z0-9*,;=.\- \t]{1,256})\r?\n/i.exec(head);
  return m?.[1];
}

/** The refused page: the same layout, language and CSP as every other page (no tenant is known). */
export function refusedPage(status: number, acceptLanguage: string | undefined): { html: string; csp: string; locale: string } {
  views ??= new Views();
  const what = REFUSED[status] ?? REFUSED[400];
  const locale = views.i18n.pick(acceptLanguage);
  const t = (key: string) => views!.i18n.t(locale, key);
  const page = views.render('error', {
    locale,
    demo: false,
    data: { code: what.code, title: t(`${what.key}.title`), message: t(what.key), advice: t(`${what.key}.advice`), retry: null, requestId: null },
  });
  return { ...page, locale };
}

function answer(socket: Socket, status: number, acceptLanguage: string | undefined): void {
  const reason = (REFUSED[status] ?? REFUSED[400]).reason;
  const page = refusedPage(status, acceptLanguage);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      'Content-Type: text/html; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(page.html)}\r\n` +
      `Content-Language: ${page.locale}\r\n` +
      'Cache-Control: no-store\r\n' +
      `Content-Security-Policy: ${page.csp}\r\n` +
      'X-Content-Type-Options: nosniff\r\n' +
      'Connection: close\r\n\r\n' +
      page.html,
  );
}

export function onClientError(err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (!socket.writable || (err.code === 'ECONNRESET' && !socket.bytesWritten)) {
    socket.destroy();
    return;
  }
  const lang = rawAcceptLanguage(err.rawPacket);
  if (err.code === 'HPE_HEADER_OVERFLOW') answer(socket, 431, lang);
  else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') answer(socket, 408, lang);
  else answer(socket, 400, lang);
}

/**
 * Listens with the timeouts and the client-error page every Fedbridge listener has.
 * `timeouts` exists for tests (small values, so that a slow client is cut in a second).
 */
export function listen(app: Koa, port: number, host: string, timeouts: Partial<ServerTimeouts> = {}): Promise<Server> {
  const t = { ...SERVER_TIMEOUTS, ...timeouts };
  const server = createServer(
    {
      headersTimeout: t.headersMs,
      requestTimeout: t.requestMs,
      connectionsCheckingInterval: t.checkEveryMs,
      keepAliveTimeout: t.keepAliveMs,
    },
    app.callback(),
  );
  // Without a 'timeout' listener Node destroys a socket idle this long.
  server.setTimeout(t.idleMs);
  server.on('clientError', onClientError);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
