/** The circuit breaker per IdP origin (src/upstreams/breaker.ts): counts and states, on an injected clock. */
import { describe, expect, it } from 'vitest';
import { CircuitBreakers, type HttpCall } from '../../src/upstreams/breaker.js';
import { FedbridgeError } from '../../src/errors.js';
import type { Answer } from '../../src/upstreams/http.js';
import { refusal } from '../helpers/refusal.js';

const DEAD = 'https://dead.example:8443';
const ALIVE = 'https://alive.example';

/** A fake network: per origin, what the next call does; counts calls that reached it. */
function network() {
  const behaviour = new Map<string, 'refuse' | 'timeout' | 'answer' | 'too-large'>();
  const reached = new Map<string, number>();
  const call: HttpCall = async (url) => {
    const origin = new URL(url).origin;
    reached.set(origin, (reached.get(origin) ?? 0) + 1);
    switch (behaviour.get(origin) ?? 'answer') {
      case 'refuse':
        throw new FedbridgeError(502, 'upstream_unreachable', `${origin}: connection failed (ECONNREFUSED)`);
      case 'timeout':
        throw new FedbridgeError(504, 'upstream_unreachable', `${origin}: no answer in 5000 ms`);
      case 'too-large':
        throw new FedbridgeError(502, 'upstream_error', `${origin}: answer over 1048576 bytes`);
      default:
        return { status: 500, statusText: 'Internal Server Error', headers: new Headers(), body: null } satisfies Answer;
    }
  };
  return { behaviour, reached, call, count: (o: string) => reached.get(o) ?? 0 };
}

function setup(failures = 3, coolDownMs = 10_000) {
  let t = 1_000_000;
  const clock = { now: () => t, advance: (ms: number) => (t += ms) };
  const breakers = new CircuitBreakers({ failures, coolDownMs, now: clock.now });
  const net = network();
  const http = breakers.wrap(net.call);
  const get = (origin: string, path = '/sts') => http(`${origin}${path}`, { method: 'GET' }, 5000);
  return { clock, breakers, net, get };
}

describe('CircuitBreakers', () => {
  it('opens after N consecutive connection failures and timeouts, then fails fast without calling the IdP', async () => {
    const { breakers, net, get } = setup(3);
    net.behaviour.set(DEAD, 'refuse');
    await refusal(get(DEAD));
    net.behaviour.set(DEAD, 'timeout');
    await refusal(get(DEAD, '/metadata')); // another path of the same origin counts alike
    expect(breakers.failures(DEAD)).toBe(2);
    expect(breakers.state(DEAD)).toBe('closed');
    const third = await refusal(get(DEAD));
    expect(third.status).toBe(504); // the call that opens it is still the IdP's own answer...
    expect(third.retryAfter).toBe(10); // ...and says when to come back
    expect(breakers.state(DEAD)).toBe('open');
    expect(net.count(DEAD)).toBe(3);

    for (let i = 0; i < 5; i++) {
      const fast = await refusal(get(DEAD));
      expect(fast.status).toBe(502);
      expect(fast.code).toBe('upstream_unreachable');
      expect(fast.retryAfter).toBe(10);
    }
    expect(net.count(DEAD)).toBe(3); // none of them reached the network
  });

  it('any answer resets the count: only consecutive failures open it', async () => {
    const { breakers, net, get } = setup(3);
    for (let round = 0; round < 3; round++) {
      net.behaviour.set(DEAD, 'refuse');
      await refusal(get(DEAD));
      await refusal(get(DEAD));
      net.behaviour.set(DEAD, round % 2 ? 'answer' : 'too-large'); // an HTTP 500 or an oversized answer is still an answer
      await get(DEAD).catch(() => null);
      expect(breakers.failures(DEAD)).toBe(0);
    }
    expect(breakers.state(DEAD)).toBe('closed');
  });

  it('one dead origin does not affect another', async () => {
    const { breakers, net, get } = setup(2);
    net.behaviour.set(DEAD, 'refuse');
    await refusal(get(DEAD));
    await refusal(get(DEAD));
    expect(breakers.state(DEAD)).toBe('open');
    const answer = await get(ALIVE);
    expect(answer.status).toBe(500);
    expect(breakers.state(ALIVE)).toBe('closed');
    expect(net.count(ALIVE)).toBe(1);
  });

  it('after the cool-down lets exactly one probe through (half-open); its success closes the circuit', async () => {
    const { clock, breakers, net, get } = setup(2, 10_000);
    net.behaviour.set(DEAD, 'refuse');
    await refusal(get(DEAD));
    await refusal(get(DEAD));
    clock.advance(4_000);
    const mid = await refusal(get(DEAD));
    expect(mid.retryAfter).toBe(6); // what is left of the cool-down
    clock.advance(6_000);
    expect(breakers.state(DEAD)).toBe('half-open');

    // The IdP is back, but slow: while the probe is in flight, every other call still fails fast.
    let release!: () => void;
    const slow: HttpCall = (url, o, ms) => new Promise((r) => (release = () => r(net.call(url, o, ms))));
    const probing = new CircuitBreakers({ failures: 2, coolDownMs: 10_000, now: clock.now });
    const phttp = probing.wrap(async (url, o, ms) => (url.includes('/probe') ? slow(url, o, ms) : net.call(url, o, ms)));
    net.behaviour.set(DEAD, 'refuse');
    await refusal(phttp(`${DEAD}/x`, { method: 'GET' }, 5000));
    await refusal(phttp(`${DEAD}/x`, { method: 'GET' }, 5000));
    clock.advance(10_000);
    net.behaviour.set(DEAD, 'answer');
    const probe = phttp(`${DEAD}/probe`, { method: 'GET' }, 5000);
    expect(probing.state(DEAD)).toBe('half-open');
    const before = net.count(DEAD);
    const other = await refusal(phttp(`${DEAD}/x`, { method: 'GET' }, 5000));
    expect(other.retryAfter).toBe(1);
    expect(net.count(DEAD)).toBe(before);
    release();
    expect((await probe).status).toBe(500);
    expect(probing.state(DEAD)).toBe('closed');
    expect((await phttp(`${DEAD}/x`, { method: 'GET' }, 5000)).status).toBe(500);

    // The first breaker: its probe succeeds at once and closes it.
    net.behaviour.set(DEAD, 'answer');
    expect((await get(DEAD)).status).toBe(500);
    expect(breakers.state(DEAD)).toBe('closed');
    expect(breakers.failures(DEAD)).toBe(0);
  });

  it('a failed probe opens the circuit again for a whole cool-down', async () => {
    const { clock, breakers, net, get } = setup(2, 10_000);
    net.behaviour.set(DEAD, 'timeout');
    await refusal(get(DEAD));
    await refusal(get(DEAD));
    clock.advance(10_000);
    const probe = await refusal(get(DEAD));
    expect(probe.status).toBe(504);
    expect(probe.retryAfter).toBe(10);
    expect(breakers.state(DEAD)).toBe('open');
    expect(net.count(DEAD)).toBe(3);
    clock.advance(9_999);
    await refusal(get(DEAD));
    expect(net.count(DEAD)).toBe(3);
    clock.advance(1);
    expect(breakers.state(DEAD)).toBe('half-open');
  });
});
