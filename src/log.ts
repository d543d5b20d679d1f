/** JSON logs. Secrets, passwords, tokens and query strings never reach them (only a jti). */
import { pino, type Logger, type DestinationStream } from 'pino';

export const REDACT_PATHS = [
  'password',
  'token',
  'wresult',
  'accesstoken',
  'secret',
  'clientSecret',
  'authorization',
  '*.password',
  '*.token',
  '*.wresult',
  '*.accesstoken',
  '*.secret',
  '*.clientSecret',
  '*.authorization',
];

/**
 * Log lines gather in memory and go to stdout in writes of at least this many bytes: one
 * write per access-log line cost about a quarter of the busy time of /introspect under load
 * (issue #11 profile). Flushed every FLUSH_EVERY_MS, at exit (pino flushes a buffered
 * destination on 'exit') and on a fatal error (exitOnFatal). A SIGKILL can lose at most the
 * last FLUSH_EVERY_MS of lines.
 *
 * Each batch is written from the main thread (a synchronous write of about 4 KiB, one per
 * some twenty access lines), not with fs.write on libuv's thread pool: WebCrypto's signature
 * checks run on that pool, and every queued write woke a pool thread beside them
 * (docs/operations.md, "Capacity"). As with pino's default destination, a stdout that does not
 * keep up (a full pipe) slows the process rather than growing its memory.
 */
export const LOG_BUFFER_BYTES = 4096;
export const FLUSH_EVERY_MS = 1000;

/** Buffered stdout, written in batches from the main thread. */
export function stdoutDestination(): DestinationStream & { flushSync(): void } {
  return pino.destination({ dest: 1, sync: true, minLength: LOG_BUFFER_BYTES, periodicFlush: FLUSH_EVERY_MS });
}

/**
 * pino's ISO timestamp, made once per millisecond: under load many lines share a millisecond,
 * and formatting a Date was half the cost of an access-log line on /introspect
 * (docs/operations.md, "Capacity"). The same text as pino.stdTimeFunctions.isoTime.
 */
let lastMs = -1;
let lastTime = '';
export function isoTime(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastTime = `,"time":"${new Date(ms).toISOString()}"`;
  }
  return lastTime;
}

/** Loggers made by createLogger: their line format is known, so accessLineWriter may write it itself. */
const knownFormat = new WeakSet<Logger>();

/** `destination` replaces stdout (tests capture lines this way; such a stream is written synchronously). */
export function createLogger(level: string, destination: DestinationStream = stdoutDestination()): Logger {
  const log = pino(
    {
      level,
      base: { service: 'fedbridge' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: isoTime,
    },
    destination,
  );
  knownFormat.add(log);
  return log;
}

/** One access-log line's fields (src/http/middleware.ts accessLog() logs the same ones). */
export interface AccessFields {
  reqId: string;
  method: string;
  url: string;
  status: number;
  ms: number;
  ip: string;
}

/**
 * The access-log line writer of both listeners (src/http/middleware.ts accessLog() and the lean
 * /introspect path, src/http/fastpath.ts): for a logger made by createLogger it writes the line
 * itself, the same bytes pino writes for `log.info(fields, 'request')`
 * (test/observability/access-line.test.ts compares them), without pino's generic serializer,
 * which was a tenth of the lean path's own work (docs/operations.md, "Capacity"). Any other
 * logger (a test's, a library user's) gets `log.info`.
 */
export function accessLineWriter(log: Logger): (f: AccessFields) => void {
  if (!knownFormat.has(log)) {
    const access = log.child({}, { redact: [] });
    return (f) => access.info(f, 'request');
  }
  const sym = pino.symbols as unknown as Record<string, symbol>;
  const self = log as unknown as Record<symbol, unknown>;
  const stream = self[sym.streamSym] as { write(line: string): unknown };
  const chindings = self[sym.chindingsSym] as string;
  const json = JSON.stringify;
  return (f) => {
    if (!log.isLevelEnabled('info')) return;
    stream.write(
      `{"level":30${isoTime()}${chindings},"reqId":${json(f.reqId)},"method":${json(f.method)},"url":${json(f.url)},"status":${json(f.status)},"ms":${json(f.ms)},"ip":${json(f.ip)},"msg":"request"}\n`,
    );
  };
}

/** Writes out whatever a buffered destination holds, now (a no-op for other streams). */
export function flushLogSync(log: Logger): void {
  const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as { flushSync?: () => void } | undefined;
  try {
    stream?.flushSync?.();
  } catch {
    // A closed or broken stdout: nothing left to save.
  }
}

/**
 * A crash (an exception or rejection nobody caught) is logged as `fatal` and the buffered
 * lines before it are written out before the process exits with 1, as Node would have.
 */
export function exitOnFatal(log: Logger): void {
  const die = (kind: string) => (err: unknown) => {
    log.fatal({ err }, kind);
    flushLogSync(log);
    process.exit(1);
  };
  process.once('uncaughtException', die('uncaught exception'));
  process.once('unhandledRejection', die('unhandled rejection'));
}

/** A URL path without its query string, safe to log. */
export function redactUrl(url: string): string {
  const i = url.indexOf('?');
  return i === -1 ? url : `${url.slice(0, i)}?[redacted]`;
}
