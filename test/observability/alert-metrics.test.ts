/**
 * The metrics to alert on (docs/operations.md, "Metrics to alert on"), each driven by a real
 * flow and read back from /metrics: wrong passwords, a rate-limit hit, a dead IdP port (its
 * errors, its latency and its circuit), a stopped Redis, and a blocked event loop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startService, type TestService } from '../helpers/service.js';
import { useServiceOnRedis } from '../helpers/on-redis.js';
import { hiddenValue } from '../helpers/html.js';
import { APPRU, enrollmentConfig } from '../helpers/enrollment.js';
import { BREAKER_DEFAULTS } from '../../src/upstreams/breaker.js';

/** One sample of the Prometheus text format whose labels include `labels`; 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let found = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) found += Number(m[3]);
  }
  return found;
}

async function scrape(svc: TestService): Promise<string> {
  const res = await fetch(`${svc.url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

const auth = (svc: TestService, hint: string) =>
  fetch(`${svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: hint })}`, { redirect: 'manual' });

describe('one service: a local tenant and an OIDC tenant whose IdP port is dead', () => {
  let svc: TestService;
  let deadOrigin: string;

  beforeAll(async () => {
    deadOrigin = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    const base = enrollmentConfig({ extra: { limits: { passwordPerUser: 3, passwordPerIp: 100, authPerIp: 1000, familiarDays: 30 } } });
    svc = await startService({
      file: {
        ...base,
        server: { publicUrl: 'http://127.0.0.1:{{PORT}}' },
        tenants: [
          ...(base.tenants as unknown[]),
          { id: 'dead', displayName: 'Dead', domains: ['dead.example'], idp: { kind: 'oidc', issuer: deadOrigin, clientId: 'c', clientSecret: 'a-client-secret-of-some-length' } },
        ],
      },
    });
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('wrong passwords count by tenant and reason; the per-user limit that refuses counts by limit', async () => {
    const before = await scrape(svc);
    expect(sample(before, 'fedbridge_password_failures_total')).toBe(0);
    const first = await auth(svc, 'alice@example.com');
    const state = hiddenValue(await first.text(), 'state')!;
    const post = (password: string) =>
      fetch(`${svc.url}/auth/password`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ state, username: 'alice@example.com', password }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await post(`wrong-${i}`);
      await res.text();
      statuses.push(res.status);
    }
    // The clock stands still (TestClock): all five fall in one window; three wrong, two refused.
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const text = await scrape(svc);
    expect(sample(text, 'fedbridge_password_failures_total', { tenant: 'demo', reason: 'wrong_password' })).toBe(3);
    expect(sample(text, 'fedbridge_rate_limited_total', { limit: 'password_per_user' })).toBe(2);
    expect(sample(text, 'fedbridge_rate_limited_total', { limit: 'password_per_ip' })).toBe(0);
  });

  it('a dead IdP port: each call counts as unreachable with its latency, then its circuit opens (gauge 2) and calls count as circuit_open', async () => {
    const labels = { tenant: 'dead', kind: 'oidc' };
    for (let i = 0; i < BREAKER_DEFAULTS.failures; i++) {
      const res = await auth(svc, `x${i}@dead.example`);
      expect(res.status).toBe(502);
      await res.text();
    }
    let text = await scrape(svc);
    expect(sample(text, 'fedbridge_idp_request_errors_total', { ...labels, outcome: 'unreachable' })).toBe(BREAKER_DEFAULTS.failures);
    expect(sample(text, 'fedbridge_idp_request_duration_seconds_count', { ...labels, outcome: 'unreachable' })).toBe(BREAKER_DEFAULTS.failures);
    expect(sample(text, 'fedbridge_idp_circuit_state', { origin: deadOrigin })).toBe(2);

    const fast = await auth(svc, 'y@dead.example');
    expect(fast.status).toBe(502);
    expect(Number(fast.headers.get('retry-after'))).toBeGreaterThan(0);
    await fast.text();
    text = await scrape(svc);
    expect(sample(text, 'fedbridge_idp_request_errors_total', { ...labels, outcome: 'circuit_open' })).toBe(1);
    expect(sample(text, 'fedbridge_idp_request_errors_total', { ...labels, outcome: 'unreachable' })).toBe(BREAKER_DEFAULTS.failures);
    // The local tenant made no IdP call at all.
    expect(sample(text, 'fedbridge_idp_request_duration_seconds_count', { tenant: 'demo' })).toBe(0);
  });

  it('a blocked event loop shows in fedbridge_event_loop_delay_seconds (max since the last scrape)', async () => {
    await scrape(svc); // starts a fresh interval
    // A few sampler ticks first: the first sample after a reset only sets its starting point.
    await new Promise((r) => setTimeout(r, 100));
    const until = Date.now() + 300;
    while (Date.now() < until) {
      // a handler that does not yield: every timer waits
    }
    await new Promise((r) => setTimeout(r, 50));
    const text = await scrape(svc);
    expect(sample(text, 'fedbridge_event_loop_delay_seconds', { quantile: 'max' })).toBeGreaterThanOrEqual(0.2);
  });
});

describe('the per-address limit on sign-in starts', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService({ file: enrollmentConfig({ extra: { limits: { passwordPerUser: 10, passwordPerIp: 30, authPerIp: 2, familiarDays: 30 } } }) });
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('each 429 counts once under limit="auth_per_ip"', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await auth(svc, 'alice@example.com');
      await res.text();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 429, 429]);
    expect(sample(await scrape(svc), 'fedbridge_rate_limited_total', { limit: 'auth_per_ip' })).toBe(2);
  });
});

describe('a stopped Redis', () => {
  const env = useServiceOnRedis();

  it('store_unavailable counts by operation class; nothing counts while Redis is up', async () => {
    const ok = await auth(env.svc, 'alice@example.com');
    expect(ok.status).toBe(200);
    await ok.text();
    expect(sample(await scrape(env.svc), 'fedbridge_store_errors_total')).toBe(0);

    await env.redis.stop();
    let refused = 0;
    for (let i = 0; i < 3; i++) {
      const res = await auth(env.svc, 'alice@example.com');
      await res.text();
      if (res.status === 503) refused++;
    }
    expect(refused).toBe(3);
    const text = await scrape(env.svc);
    // The first store call of /auth is the per-address counter: it is the one that fails.
    expect(sample(text, 'fedbridge_store_errors_total', { operation: 'ratelimit' })).toBe(3);
    expect(sample(text, 'fedbridge_store_errors_total', { operation: 'transaction' })).toBe(0);
  });
});
