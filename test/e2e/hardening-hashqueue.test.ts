/**
 * Issue #7, finding 6: password hashing runs behind a bounded queue with its own
 * concurrency; a full queue answers 503 `server_busy` with Retry-After at once (no hash,
 * no attempt spent), and token signing and verification never wait in it. The mechanism is
 * tested here; the latencies are in bench/password-burst.js.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { forms } from '../helpers/html.js';
import { startService, type TestService } from '../helpers/service.js';
import { gate, tick } from '../helpers/gate.js';
import { localUsersFile, passwordPage } from '../helpers/password-page.js';
import { DEFAULT_HASH_QUEUE, HashQueue, passwordHashQueue, withHashPriority } from '../../src/upstreams/local/hashqueue.js';
import { isFedbridgeError } from '../../src/errors.js';

const PW = 'contoso-pw-1234';
const SECRET = 'mdm-secret-0123456789abcdef';

describe('HashQueue', () => {
  it('never runs more than `concurrency` jobs; waiters start oldest first', async () => {
    const q = new HashQueue({ concurrency: 2, maxWaiting: 10, maxPriorityWaiting: 0 });
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    const gates = Array.from({ length: 8 }, gate);
    const runs = gates.map((g, i) =>
      q.run(async () => {
        started.push(i);
        peak = Math.max(peak, ++active);
        await g.done;
        active--;
        return i;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    expect(q.load).toEqual({ running: 2, waiting: 6, priorityWaiting: 0 });
    for (const i of [1, 0, 3, 2, 5, 4, 7, 6]) {
      gates[i].open();
      await tick();
      await tick();
    }
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(2);
    expect(q.load).toEqual({ running: 0, waiting: 0, priorityWaiting: 0 });
  });

  it('refuses at once with 503 server_busy and a Retry-After when the wait list is full; the refused job never runs', async () => {
    const q = new HashQueue({ concurrency: 1, maxWaiting: 2, maxPriorityWaiting: 0 });
    const g = gate();
    const admitted = [q.run(() => g.done), q.run(() => g.done), q.run(() => g.done)];
    const job = vi.fn(async () => 'ran');
    const err = await q.run(job).catch((e: unknown) => e);
    expect(isFedbridgeError(err)).toBe(true);
    expect(err).toMatchObject({ status: 503, code: 'server_busy' });
    expect((err as { retryAfter: number }).retryAfter).toBeGreaterThanOrEqual(1);
    expect(job).not.toHaveBeenCalled();
    g.open();
    await Promise.all(admitted);
    expect(await q.run(job)).toBe('ran'); // drained: accepted again
  });

  it('the priority lane starts first and has a bound of its own', async () => {
    const q = new HashQueue({ concurrency: 1, maxWaiting: 1, maxPriorityWaiting: 1 });
    const started: string[] = [];
    const g = gate();
    const job = (name: string) => async () => {
      started.push(name);
      await g.done;
    };
    const runs = [q.run(job('first')), q.run(job('normal')), withHashPriority(() => q.run(job('priority')))];
    // Both lanes are full now: one more of each is refused.
    await expect(q.run(job('normal-2'))).rejects.toMatchObject({ status: 503, code: 'server_busy' });
    await expect(withHashPriority(() => q.run(job('priority-2')))).rejects.toMatchObject({ status: 503, code: 'server_busy' });
    expect(q.load).toEqual({ running: 1, waiting: 1, priorityWaiting: 1 });
    g.open();
    await Promise.all(runs);
    expect(started).toEqual(['first', 'priority', 'normal']);
  });

  it('a failing job frees its slot', async () => {
    const q = new HashQueue({ concurrency: 1, maxWaiting: 0, maxPriorityWaiting: 0 });
    await expect(q.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await q.run(async () => 1)).toBe(1);
  });

  it('the default bound is small: at most two hashes at once and a short wait list', () => {
    expect(DEFAULT_HASH_QUEUE.concurrency).toBeGreaterThanOrEqual(1);
    expect(DEFAULT_HASH_QUEUE.concurrency).toBeLessThanOrEqual(2);
    expect(DEFAULT_HASH_QUEUE.maxWaiting).toBeLessThanOrEqual(64);
    expect(passwordHashQueue.options).toEqual(DEFAULT_HASH_QUEUE);
  });
});

describe('the password page behind the queue', () => {
  let svc: TestService;
  let token: string;
  beforeAll(async () => {
    svc = await startService({
      file: localUsersFile({
        count: 30,
        password: PW,
        limits: { passwordPerUser: 1, passwordPerIp: 1000, authPerIp: 10_000 },
        extra: { enrollmentServers: [{ id: 'mdm', secret: SECRET }] },
      }),
    });
    token = (await attempt('u0@contoso.test', PW, '192.0.2.1')).token!;
    expect(token).toBeTruthy();
  });
  afterAll(() => svc?.close());
  afterEach(() => passwordHashQueue.configure(DEFAULT_HASH_QUEUE));

  const { startState, post, attempt } = passwordPage(() => svc.url);

  const introspect = async (t: string) =>
    (await fetch(`${svc.url}/introspect`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`mdm:${SECRET}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token: t }),
    })).json();

  it('a full queue: 503 server_busy page with Retry-After, no attempt spent; introspection still answers', async () => {
    passwordHashQueue.configure({ concurrency: 1, maxWaiting: 1, maxPriorityWaiting: 0 });
    const g = gate();
    const blockers = [passwordHashQueue.run(() => g.done), passwordHashQueue.run(() => g.done)];
    try {
      for (let i = 0; i < 3; i++) {
        const { res, html } = await attempt('u1@contoso.test', PW, '198.51.100.1');
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect(html).toContain('<code>server_busy</code>');
        expect(html).toContain('Your password was not checked.');
        expect(html).toContain(res.headers.get('retry-after') === '1' ? 'You can try again in 1 second.' : `You can try again in ${res.headers.get('retry-after')} seconds.`);
        expect(forms(html)).toHaveLength(0);
      }
      // Verification does not wait for the hashing queue.
      expect(await introspect(token)).toMatchObject({ active: true, upn: 'u0@contoso.test' });
    } finally {
      g.open();
      await Promise.all(blockers);
    }
    // passwordPerUser is 1: had the refused attempts counted, this would be 429.
    expect((await attempt('u1@contoso.test', PW, '198.51.100.1')).token).toBeTruthy();
  });

  it('with the queue full of guesses, a user at an address she signed in from waits in the priority lane, not refused', async () => {
    passwordHashQueue.configure({ concurrency: 1, maxWaiting: 1, maxPriorityWaiting: 1 });
    const g = gate();
    const blockers = [passwordHashQueue.run(() => g.done), passwordHashQueue.run(() => g.done)];
    let returning: ReturnType<typeof attempt> | undefined;
    try {
      const state = await startState('u0@contoso.test');
      returning = post(state, 'u0@contoso.test', PW, '192.0.2.1'); // where u0 signed in (beforeAll)
      while (passwordHashQueue.load.priorityWaiting === 0) await new Promise((r) => setTimeout(r, 5));
      // A stranger, and u0 from an address she never used, are refused meanwhile.
      expect((await attempt('u29@contoso.test', 'wrong', '203.0.113.200')).res.status).toBe(503);
      expect((await attempt('u0@contoso.test', PW, '203.0.113.201')).res.status).toBe(503);
    } finally {
      g.open();
      await Promise.all(blockers);
    }
    expect((await returning!).token).toBeTruthy();
  });

  it('a burst of 24 concurrent guesses: never more than `concurrency` hashes at once, the overflow refused with 503', async () => {
    passwordHashQueue.configure({ concurrency: 2, maxWaiting: 3, maxPriorityWaiting: 0 });
    const states = await Promise.all(Array.from({ length: 24 }, (_, i) => startState(`u${i + 2}@contoso.test`)));
    // Admitted hashes hold until all 24 guesses have reached the queue, so the outcome does not
    // depend on how fast scrypt is: 2 run, 3 wait, 19 are refused.
    const allArrived = gate();
    let active = 0;
    let peak = 0;
    const run = passwordHashQueue.run.bind(passwordHashQueue);
    const spy = vi.spyOn(passwordHashQueue, 'run').mockImplementation((job) => {
      if (spy.mock.calls.length === 24) allArrived.open();
      return run(async () => {
        peak = Math.max(peak, ++active);
        try {
          await allArrived.done;
          return await job();
        } finally {
          active--;
        }
      });
    });
    try {
      const burst = await Promise.all(states.map((state, i) => post(state, `u${i + 2}@contoso.test`, 'wrong', `203.0.113.${i + 1}`)));
      const statuses = burst.map((r) => r.res.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(5);
      expect(statuses.filter((s) => s === 503)).toHaveLength(19);
      for (const r of burst.filter((b) => b.res.status === 503)) {
        expect(r.res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
        expect(r.html).toContain('<code>server_busy</code>');
      }
      expect(peak).toBe(2);
    } finally {
      allArrived.open();
      spy.mockRestore();
    }
  });
});
