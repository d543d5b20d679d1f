/**
 * One error tree for the whole service. Every refusal carries an HTTP status,
 * a stable machine code (what JSON clients and tests match on) and a message key
 * (what the branded page shows, translated). Only 4xx errors expose their detail.
 */
export class FedbridgeError extends Error {
  readonly status: number;
  readonly code: string;
  readonly messageKey: string;
  readonly expose: boolean;
  /** Extra values for the message template (never secrets). */
  readonly params: Record<string, string>;
  /** Seconds after which a retry may succeed (429, 503): sent as `Retry-After` and shown on the page. */
  retryAfter?: number;

  constructor(status: number, code: string, detail?: string, params: Record<string, string> = {}, messageKey?: string) {
    super(detail ?? code);
    this.name = 'FedbridgeError';
    this.status = status;
    this.code = code;
    this.messageKey = messageKey ?? `error.${code}`;
    this.expose = status < 500;
    this.params = params;
  }
}

export const badRequest = (code: string, detail?: string, params?: Record<string, string>) =>
  new FedbridgeError(400, code, detail, params);
export const unauthorized = (code: string, detail?: string) => new FedbridgeError(401, code, detail);
export const forbidden = (code: string, detail?: string, params?: Record<string, string>) =>
  new FedbridgeError(403, code, detail, params);
export const notFound = (code: string, detail?: string) => new FedbridgeError(404, code, detail);
export const tooManyRequests = (code: string, detail?: string, retryAfter?: number) =>
  withRetryAfter(new FedbridgeError(429, code, detail), retryAfter);
/** The service is briefly overloaded (e.g. the password-hashing queue is full); nothing is wrong with the request. */
export const serviceUnavailable = (code: string, detail?: string, retryAfter?: number) =>
  withRetryAfter(new FedbridgeError(503, code, detail), retryAfter);
export const upstreamError = (code: string, detail?: string, params?: Record<string, string>) =>
  new FedbridgeError(502, code, detail, params);
export const internalError = (detail?: string) => new FedbridgeError(500, 'server_error', detail);

function withRetryAfter(err: FedbridgeError, seconds: number | undefined): FedbridgeError {
  if (seconds !== undefined) err.retryAfter = Math.max(1, Math.ceil(seconds));
  return err;
}

export function isFedbridgeError(err: unknown): err is FedbridgeError {
  return err instanceof FedbridgeError;
}
