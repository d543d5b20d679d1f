/** Prometheus metrics in a registry owned by the app (no global state). */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  signins: Counter<'tenant' | 'idp' | 'result'>;
  introspections: Counter<'result'>;
  httpDuration: Histogram<'route' | 'method' | 'status'>;
}

export function createMetrics(defaults = true): Metrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry });
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
  };
}
