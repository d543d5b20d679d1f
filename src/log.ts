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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'fedbridge' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** A URL path without its query string, safe to log. */
export function redactUrl(url: string): string {
  const i = url.indexOf('?');
  return i === -1 ? url : `${url.slice(0, i)}?[redacted]`;
}
