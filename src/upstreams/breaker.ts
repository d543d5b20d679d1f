/**
 * A circuit breaker per IdP origin around the shared upstream HTTP client (issue #11,
 * "Graceful operation"). After `failures` consecutive connection failures or timeouts to
 * one origin (scheme, host, port), calls to that origin fail at once for `coolDownMs`
 * with the branded `upstream_unreachable` page and a `Retry-After`, instead of each
 * sign-in waiting out the deadline and holding a socket. Then one call is let through
 * (half-open): if it gets an answer the circuit closes, if not it opens again.
 *
 * Any answer, whatever its status, proves the IdP is reachable: only failures to connect
 * or to answer in time (`upstream_unreachable`) count. Origins are independent, so a dead
 * IdP fails fast for its tenants alone; sockets are pooled per origin (http.ts), so it
 * cannot take connections other tenants need either.
 *
 * A person is sent to the IdP's sign-in page (which Fedbridge never fetches itself) only while
 * its circuit is not open: each kind's begin() asks `admit` first, so /auth fails fast with the
 * same page instead of redirecting to an IdP known to be down (docs/operations.md).
 */
import { FedbridgeError } from '../errors.js';
import type { Answer, RequestOptions } from './http.js';

export type HttpCall = (url: string, options: RequestOptions, timeoutMs: number) => Promise<Answer>;

export interface BreakerOptions {
  /** Consecutive connection failures or timeouts that open the circuit. */
  failures: number;
  /** How long an open circuit refuses calls before letting one through. */
  coolDownMs: number;
  /** Epoch milliseconds (tests inject a clock). */
  now: () => number;
}

/**
 * Ten in a row: a burst of sign-ins against a dead IdP trips it within one deadline, while a few
 * unlucky timeouts of a live one (or a run of refused cases in a test suite) do not.
 */
export const BREAKER_DEFAULTS: Readonly<Omit<BreakerOptions, 'now'>> = { failures: 10, coolDownMs: 30_000 };

export type CircuitState = 'closed' | 'open' | 'half-open';

/** What an upstream kind's begin() asks before sending a person to the IdP (src/upstreams/types.ts). */
export interface CircuitGate {
  /**
   * Returns when `url`'s origin may be used; throws the branded refusal (with Retry-After) at
   * once while its circuit is open. Once the cool-down is over, `probe` (a call to that origin
   * through the wrapped client, e.g. fetching the discovery document again) runs as the one
   * half-open probe: its answer closes the circuit, its failure opens it again and is thrown.
   * Without `probe` a half-open circuit lets the sign-in go (its own call will be the probe).
   */
  admit(url: string, probe?: () => Promise<unknown>): Promise<void>;
}

/** The refusal of a call not tried because its circuit is open (metrics tell it from a real failure). */
export class CircuitOpenError extends FedbridgeError {
  readonly circuitOpen = true;
}

interface Circuit {
  /** Consecutive connection failures or timeouts while closed. */
  failures: number;
  /** When the circuit last opened; null while closed. */
  openedAt: number | null;
  /** A half-open probe is in flight: every other call still fails fast. */
  probing: boolean;
}

/** A failure of the IdP itself (no connection, no answer in time), as http.ts reports it. */
function isUnreachable(err: unknown): boolean {
  return err instanceof FedbridgeError && err.code === 'upstream_unreachable';
}

export class CircuitBreakers implements CircuitGate {
  private readonly circuits = new Map<string, Circuit>();
  private readonly opts: BreakerOptions;

  constructor(opts: Partial<BreakerOptions> = {}) {
    this.opts = { ...BREAKER_DEFAULTS, now: () => Date.now(), ...opts };
  }

  /** The state of `origin`'s circuit now (for metrics, logs and tests). */
  state(origin: string): CircuitState {
    const c = this.circuits.get(origin);
    if (!c || c.openedAt === null) return 'closed';
    return c.probing || this.opts.now() - c.openedAt >= this.opts.coolDownMs ? 'half-open' : 'open';
  }

  /** Every origin called so far (the metrics gauge lists them). */
  origins(): string[] {
    return [...this.circuits.keys()];
  }

  async admit(url: string, probe?: () => Promise<unknown>): Promise<void> {
    const origin = new URL(url).origin;
    const c = this.circuits.get(origin);
    if (!c || c.openedAt === null) return;
    if (c.probing || this.opts.now() - c.openedAt < this.opts.coolDownMs) throw this.refusal(origin, c);
    // Cool-down over: the probe's call takes the half-open slot in call() below.
    if (probe) await probe();
  }

  /** Consecutive failures counted for `origin` while closed. */
  failures(origin: string): number {
    return this.circuits.get(origin)?.failures ?? 0;
  }

  /** `http` with a breaker per origin in front of it. */
  wrap(http: HttpCall): HttpCall {
    return (url, options, timeoutMs) => this.call(http, url, options, timeoutMs);
  }

  private async call(http: HttpCall, url: string, options: RequestOptions, timeoutMs: number): Promise<Answer> {
    const origin = new URL(url).origin;
    let c = this.circuits.get(origin);
    if (!c) {
      c = { failures: 0, openedAt: null, probing: false };
      this.circuits.set(origin, c);
    }
    let probe = false;
    if (c.openedAt !== null) {
      const waited = this.opts.now() - c.openedAt;
      if (c.probing || waited < this.opts.coolDownMs) throw this.refusal(origin, c);
      c.probing = true; // half-open: this call is the one probe
      probe = true;
    }
    try {
      const answer = await http(url, options, timeoutMs);
      c.failures = 0;
      c.openedAt = null;
      if (probe) c.probing = false;
      return answer;
    } catch (err) {
      if (probe) c.probing = false;
      if (!isUnreachable(err)) {
        // The IdP answered (an oversized or cut answer is still an answer): it is reachable.
        if (probe) c.openedAt = null;
        c.failures = 0;
        throw err;
      }
      if (probe || ++c.failures >= this.opts.failures) {
        c.openedAt = this.opts.now();
        c.failures = 0;
        (err as FedbridgeError).retryAfter = this.retryAfterSeconds(c);
      }
      throw err;
    }
  }

  private retryAfterSeconds(c: Circuit): number {
    const left = c.openedAt === null ? 0 : c.openedAt + this.opts.coolDownMs - this.opts.now();
    return Math.max(1, Math.ceil(left / 1000));
  }

  private refusal(origin: string, c: Circuit): FedbridgeError {
    const err = new CircuitOpenError(502, 'upstream_unreachable', `${origin}: not tried (circuit open after repeated connection failures)`);
    err.retryAfter = this.retryAfterSeconds(c);
    return err;
  }
}
