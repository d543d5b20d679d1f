/**
 * The HTTP listener. Requests Node refuses before Koa sees them (a request line or headers
 * over Node's 16 KiB limit, malformed HTTP) still get a small page with a status that says
 * why, `Cache-Control: no-store` and a strict CSP, instead of a bare status line.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type Koa from 'koa';

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

const PAGE = (title: string) =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body><h1>${title}</h1><p>Start the enrollment again from Windows Settings.</p></body></html>`;

function answer(socket: Socket, status: number, reason: string): void {
  const body = PAGE(reason);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      'Content-Type: text/html; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-store\r\n' +
      "Content-Security-Policy: default-src 'none'\r\n" +
      'Connection: close\r\n\r\n' +
      body,
  );
}

export function onClientError(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable || (err.code === 'ECONNRESET' && !socket.bytesWritten)) {
    socket.destroy();
    return;
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') answer(socket, 431, 'Request Header Fields Too Large');
  else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') answer(socket, 408, 'Request Timeout');
  else answer(socket, 400, 'Bad Request');
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
