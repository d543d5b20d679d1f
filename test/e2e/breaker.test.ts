/**
 * The circuit breaker as wired in the service (src/service.ts, src/upstreams/breaker.ts): a dead
 * IdP's sign-ins fail fast with the branded page and Retry-After once its circuit is open; another
 * IdP's circuit is untouched. (Counts, states and the cool-down are in test/upstreams/breaker.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, startService, type TestService } from '../helpers/service.js';
import { expectErrorPage } from '../upstreams/oidc/expect.js';
import { BREAKER_DEFAULTS } from '../../src/upstreams/breaker.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
let svc: TestService;
let deadOrigin: string;
let garbage: Server;
let garbageOrigin: string;

beforeAll(async () => {
  deadOrigin = `http://127.0.0.1:${await freePort()}`; // nothing listens there
  // An IdP that answers, badly: reachable, so its circuit stays closed.
  garbage = createServer((_req, res) => res.end('not metadata')).listen(0, '127.0.0.1');
  await new Promise((r) => garbage.once('listening', r));
  garbageOrigin = `http://127.0.0.1:${(garbage.address() as AddressInfo).port}`;
  const tenant = (id: string, domain: string, origin: string) => ({
    id,
    displayName: id,
    domains: [domain],
    idp: { kind: 'wsfed', metadataUrl: `${origin}/FederationMetadata/2007-06/FederationMetadata.xml` },
  });
  svc = await startService({
    file: {
      server: { publicUrl: 'http://127.0.0.1:{{PORT}}' },
      tenants: [tenant('dead', 'dead.example', deadOrigin), tenant('garbage', 'garbage.example', garbageOrigin)],
    },
  });
});
afterAll(async () => {
  await svc?.close();
  garbage?.close();
});

const start = (domain: string) => fetch(`${svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: `x@${domain}` })}`, { redirect: 'manual' });

describe('circuit breaker per IdP in the service', () => {
  it('after N connection failures a dead IdP fails fast with the branded 502 page and Retry-After', async () => {
    const breakers = svc.service.breakers;
    for (let i = 0; i < BREAKER_DEFAULTS.failures; i++) {
      expect(breakers.state(deadOrigin)).toBe('closed');
      const res = await start('dead.example');
      expectErrorPage(res, await res.text(), 502, 'upstream_unreachable');
    }
    expect(breakers.state(deadOrigin)).toBe('open');
    const fast = await start('dead.example');
    const html = await fast.text();
    expectErrorPage(fast, html, 502, 'upstream_unreachable');
    const retryAfter = Number(fast.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(BREAKER_DEFAULTS.coolDownMs / 1000);
    expect(html).toContain(retryAfter === 1 ? 'You can try again in 1 second.' : `You can try again in ${retryAfter} seconds.`); // the page says when

    // Another IdP that answers (with garbage) is not affected, however often it is asked.
    for (let i = 0; i < BREAKER_DEFAULTS.failures + 1; i++) {
      const res = await start('garbage.example');
      expect(res.status).toBe(502);
      await res.text();
    }
    expect(breakers.state(garbageOrigin)).toBe('closed');
    expect(breakers.failures(garbageOrigin)).toBe(0);
  });
});
