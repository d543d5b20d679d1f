/**
 * The HTTP listener. Requests Node refuses before Koa sees them (a request line or headers
 * over Node's 16 KiB limit, malformed HTTP) still get a small page with a status that says
 * why, `Cache-Control: no-store` and a strict CSP, instead of a bare status line.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type Koa from 'koa';

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

/** Listens with the timeouts and the client-error page every Fedbridge listener has. */
export function listen(app: Koa, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => resolve(server));
    server.once('error', reject);
    server.on('clientError', onClientError);
    // Slow clients cannot hold connections open forever.
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
  });
}
