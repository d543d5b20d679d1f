/**
 * Prometheus metrics in a registry owned by the app (no global state). The ones to alert on
 * (docs/operations.md, "Metrics to alert on") are each counted at the one place the thing
 * happens: password failures in src/actions/password.ts, rate-limit refusals in
 * src/actions/ratelimit.ts, every IdP call in the shared client (meteredHttp below, around
 * src/upstreams/http.ts), store errors at the Store interface (meteredStore below), the circuit
 * of each IdP origin from src/upstreams/breaker.ts, and event-loop delay from perf_hooks.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isFedbridgeError } from '../errors.js';
import type { Store } from '../store/types.js';

/** What the breaker gauge reads (src/upstreams/breaker.ts CircuitBreakers). */
export interface CircuitSource {
  origins(): string[];
  state(origin: string): 'closed' | 'open' | 'half-open';
}

export interface Metrics {
  registry: Registry;
  signins: Counter<'tenant' | 'idp' | 'result'>;
  introspections: Counter<'result'>;
  httpDuration: Histogram<'route' | 'method' | 'status'>;
  /** A password that was checked and wrong, or an attempt that could not be checked (reason: the error code). */
  passwordFailures: Counter<'tenant' | 'reason'>;
  /** 429s, by the limit that refused (`auth_per_ip`, `password_per_ip`, `password_per_user`). */
  rateLimited: Counter<'limit'>;
  /** Every call to an IdP through the shared client, by outcome (see idpOutcome). */
  idpDuration: Histogram<'tenant' | 'kind' | 'outcome'>;
  /** The IdP calls whose outcome is not `ok`. */
  idpErrors: Counter<'tenant' | 'kind' | 'outcome'>;
  /** store_unavailable raised, by operation class (see STORE_OPERATIONS). */
  storeErrors: Counter<'operation'>;
  /** Adds the gauge of each IdP origin's circuit (0 closed, 1 half-open, 2 open). */
  watchCircuits(source: CircuitSource): void;
  /** Stops the event-loop delay sampler. */
  close(): void;
}

const CIRCUIT_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

export function createMetrics(defaults = true): Metrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry });
  const circuits: CircuitSource[] = [];
  new Gauge({
    name: 'fedbridge_idp_circuit_state',
    help: "Each IdP origin's circuit breaker: 0 closed, 1 half-open (a probe may go), 2 open (sign-ins to it fail fast)",
    labelNames: ['origin'],
    registers: [registry],
    collect() {
      this.reset();
      for (const source of circuits) for (const origin of source.origins()) this.set({ origin }, CIRCUIT_VALUE[source.state(origin)]);
    },
  });
  // Our own, always on (prom-client's nodejs_eventloop_lag_* come only with the default metrics):
  // the delay seen since the previous scrape, then the sampler starts over.
  const loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  new Gauge({
    name: 'fedbridge_event_loop_delay_seconds',
    help: 'Event-loop delay since the previous scrape (perf_hooks.monitorEventLoopDelay), by quantile (max: the worst)',
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      const s = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
      this.set({ quantile: '0.5' }, s(loop.percentile(50)));
      this.set({ quantile: '0.99' }, s(loop.percentile(99)));
      this.set({ quantile: 'max' }, s(loop.max));
      loop.reset();
    },
  });
  return {
    registry,
    signins: new Counter({
      name: 'fedbridge_signins_total',
      help: 'Sign-ins finished, by tenant, upstream kind and result',
      labelNames: ['tenant', 'idp', 'result'],
      registers: [registry],
    }),
    introspections: new Counter({
      name: 'fedbridge_introspections_total',
      help: 'Introspection answers by result (active or error code)',
      labelNames: ['result'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'fedbridge_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    passwordFailures: new Counter({
      name: 'fedbridge_password_failures_total',
      help: 'Password sign-ins that failed: wrong_password, or the code of why it could not be checked (server_busy, upstream_unreachable)',
      labelNames: ['tenant', 'reason'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'fedbridge_rate_limited_total',
      help: 'Requests refused with 429 by a per-minute limit (auth_per_ip, password_per_ip, password_per_user)',
      labelNames: ['limit'],
      registers: [registry],
    }),
    idpDuration: new Histogram({
      name: 'fedbridge_idp_request_duration_seconds',
      help: 'Calls to identity providers (discovery, JWKS, token endpoint, metadata, STS), by tenant, upstream kind and outcome',
      labelNames: ['tenant', 'kind', 'outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25],
      registers: [registry],
    }),
    idpErrors: new Counter({
      name: 'fedbridge_idp_request_errors_total',
      help: 'Calls to identity providers that failed: http_4xx, http_5xx, unreachable, timeout, circuit_open, bad_answer',
      labelNames: ['tenant', 'kind', 'outcome'],
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'fedbridge_store_errors_total',
      help: 'Store operations that failed with store_unavailable (503), by operation class',
      labelNames: ['operation'],
      registers: [registry],
    }),
    watchCircuits(source) {
      circuits.push(source);
    },
    close() {
      loop.disable();
    },
  };
}

/** How an IdP call ended, for fedbridge_idp_request_*: `ok` is any 1xx–3xx answer. */
export function idpOutcome(result: { status: number } | unknown, failed: boolean): string {
  if (!failed) {
    const status = (result as { status: number }).status;
    return status >= 500 ? 'http_5xx' : status >= 400 ? 'http_4xx' : 'ok';
  }
  if (isFedbridgeError(result) && result.code === 'upstream_unreachable') {
    if ((result as { circuitOpen?: boolean }).circuitOpen) return 'circuit_open';
    return result.status === 504 ? 'timeout' : 'unreachable';
  }
  // Oversized or cut answers (upstream_error from src/upstreams/http.ts).
  return 'bad_answer';
}

type Call<A extends unknown[], R> = (...args: A) => Promise<R>;

/** The shared IdP client of one tenant, timed and counted (src/upstreams/http.ts is what it wraps). */
export function meteredHttp<A extends unknown[], R extends { status: number }>(
  http: Call<A, R>,
  metrics: Metrics,
  labels: { tenant: string; kind: string },
): Call<A, R> {
  return async (...args) => {
    const end = metrics.idpDuration.startTimer();
    let outcome = 'ok';
    try {
      const answer = await http(...args);
      outcome = idpOutcome(answer, false);
      return answer;
    } catch (err) {
      outcome = idpOutcome(err, true);
      throw err;
    } finally {
      end({ ...labels, outcome });
      if (outcome !== 'ok') metrics.idpErrors.inc({ ...labels, outcome });
    }
  };
}

/** Operation classes of the Store interface (src/store/types.ts); a method not listed counts as `other`. */
export const STORE_OPERATIONS: Readonly<Record<string, string>> = {
  putTransaction: 'transaction',
  getTransaction: 'transaction',
  takeTransaction: 'transaction',
  consumedBy: 'replay',
  consumeToken: 'replay',
  putInvitation: 'invitation',
  getInvitation: 'invitation',
  useInvitation: 'invitation',
  listInvitations: 'invitation',
  revokeInvitation: 'invitation',
  hit: 'ratelimit',
  count: 'ratelimit',
  release: 'ratelimit',
  rememberAddress: 'ratelimit',
  isFamiliarAddress: 'ratelimit',
  appendAudit: 'audit',
  listAudit: 'audit',
  queryAudit: 'audit',
  purgeAudit: 'audit',
  createTenant: 'tenant',
  updateTenant: 'tenant',
  deleteTenant: 'tenant',
  listTenants: 'tenant',
  tenantsRevision: 'tenant',
  putLogo: 'tenant',
  getLogo: 'tenant',
  purgeExpired: 'maintenance',
  ping: 'health',
};

/**
 * The store with every `store_unavailable` (src/store/unavailable.ts: how both backends report
 * that they cannot serve) counted by operation class. Methods run on the store itself, so a
 * method calling another counts once.
 */
export function meteredStore<S extends Store>(store: S, metrics: Metrics): S {
  // Keyed by the method itself, so a method replaced on the store (a test's spy) is wrapped anew.
  const wrapped = new WeakMap<object, unknown>();
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      let fn = wrapped.get(value);
      if (!fn) {
        const operation = (typeof prop === 'string' && STORE_OPERATIONS[prop]) || 'other';
        const count = (err: unknown) => {
          if (isFedbridgeError(err) && err.code === 'store_unavailable') metrics.storeErrors.inc({ operation });
          throw err;
        };
        fn = function (this: unknown, ...args: unknown[]) {
          try {
            const out = (value as (...a: unknown[]) => unknown).apply(target, args);
            return out instanceof Promise ? out.catch(count) : out;
          } catch (err) {
            return count(err);
          }
        };
        wrapped.set(value, fn);
      }
      return fn;
    },
  });
}
