/**
 * The hashing queue's priority lane (familiar addresses, README "Operating it") is capped per
 * user and per client network: whoever may use it (signed in before from an address, or many
 * colleagues behind one office address) cannot fill it and starve other returning users. Their
 * extra attempts wait in the normal lane, which keeps its own bound (503 `server_busy` past it).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';
import { gate, tick } from '../helpers/gate.js';
import { localUsersFile, passwordPage } from '../helpers/password-page.js';
import { DEFAULT_HASH_QUEUE, HashQueue, passwordHashQueue, withHashPriority, type HashPriority } from '../../src/upstreams/local/hashqueue.js';

const PW = 'contoso-pw-1234';

describe('HashQueue: caps of the priority lane', () => {
  /** Queues `name` as `who`'s priority job; records the order jobs start in. */
  function harness(q: HashQueue) {
    const started: string[] = [];
    const g = gate();
    const blocker = q.run(() => g.done); // holds the only slot
    const runs: Promise<unknown>[] = [blocker];
    const job = (name: string) => async () => {
      started.push(name);
    };
    return {
      started,
      urgent: (name: string, who: HashPriority) => runs.push(withHashPriority(() => q.run(job(name)), who)),
      normal: (name: string) => runs.push(q.run(job(name))),
      async drain() {
        g.open();
        await Promise.all(runs);
      },
    };
  }

  it('one user flooding from a familiar address: two wait first, the rest in the normal lane; another user still goes first', async () => {
    const q = new HashQueue({ concurrency: 1, maxWaiting: 20, maxPriorityWaiting: 16 });
    const h = harness(q);
    h.normal('stranger');
    for (let i = 1; i <= 6; i++) h.urgent(`mallory-${i}`, { user: 'contoso:mallory', network: '192.0.2.66' });
    await tick();
    expect(q.load).toEqual({ running: 1, waiting: 5, priorityWaiting: 2 });
    h.urgent('alice', { user: 'contoso:alice', network: '198.51.100.7' });
    await tick();
    expect(q.load).toEqual({ running: 1, waiting: 5, priorityWaiting: 3 });
    await h.drain();
    // Alice waits behind two of Mallory's attempts, not six; the normal lane keeps its order.
    expect(h.started).toEqual(['mallory-1', 'mallory-2', 'alice', 'stranger', 'mallory-3', 'mallory-4', 'mallory-5', 'mallory-6']);
  });

  it("many users' names from one network: four wait first, the others in the normal lane", async () => {
    const q = new HashQueue({ concurrency: 1, maxWaiting: 20, maxPriorityWaiting: 16 });
    const h = harness(q);
    for (let i = 1; i <= 7; i++) h.urgent(`office-${i}`, { user: `contoso:u${i}`, network: '203.0.113.10' });
    await tick();
    expect(q.load).toEqual({ running: 1, waiting: 3, priorityWaiting: 4 });
    h.urgent('home', { user: 'contoso:u1', network: '2001:db8:1::/64' }); // u1 has one waiting: under its cap
    await tick();
    expect(q.load).toEqual({ running: 1, waiting: 3, priorityWaiting: 5 });
    await h.drain();
    expect(h.started).toEqual(['office-1', 'office-2', 'office-3', 'office-4', 'home', 'office-5', 'office-6', 'office-7']);
  });

  it('an attempt moved out of the lane is bound by the normal lane: refused with 503 when it is full', async () => {
    const q = new HashQueue({ concurrency: 1, maxWaiting: 1, maxPriorityWaiting: 16 });
    const h = harness(q);
    const who = { user: 'contoso:mallory', network: '192.0.2.66' };
    h.urgent('m1', who);
    h.urgent('m2', who);
    h.urgent('m3', who); // into the normal lane (its one place)
    await expect(withHashPriority(() => q.run(async () => 'm4'), who)).rejects.toMatchObject({ status: 503, code: 'server_busy' });
    expect(q.load).toEqual({ running: 1, waiting: 1, priorityWaiting: 2 });
    await h.drain();
    expect(h.started).toEqual(['m1', 'm2', 'm3']);
  });

  it('the caps are options (defaults 2 per user, 4 per network) and are checked', async () => {
    expect(DEFAULT_HASH_QUEUE).toMatchObject({ maxPriorityPerUser: 2, maxPriorityPerNetwork: 4 });
    expect(() => new HashQueue({ ...DEFAULT_HASH_QUEUE, maxPriorityPerUser: -1 })).toThrow(/maxPriorityPerUser/);
    expect(() => new HashQueue({ ...DEFAULT_HASH_QUEUE, maxPriorityPerNetwork: 1.5 })).toThrow(/maxPriorityPerNetwork/);
    const q = new HashQueue({ concurrency: 1, maxWaiting: 20, maxPriorityWaiting: 16, maxPriorityPerUser: 1, maxPriorityPerNetwork: 16 });
    const h = harness(q);
    h.urgent('a1', { user: 'a', network: 'n' });
    h.urgent('a2', { user: 'a', network: 'n' });
    await tick();
    expect(q.load).toEqual({ running: 1, waiting: 1, priorityWaiting: 1 });
    await h.drain();
  });
});

describe('the password page: a flood from a familiar address does not starve other returning users', () => {
  let svc: TestService;
  const OFFICE = '192.0.2.10';
  const HOME = '198.51.100.9';
  beforeAll(async () => {
    svc = await startService({ file: localUsersFile({ count: 6, password: PW, limits: { passwordPerUser: 100, passwordPerIp: 1000, authPerIp: 10_000 } }) });
    // u0..u4 signed in at the office (one NAT address), u5 at home: each address is familiar to them.
    for (let i = 0; i < 5; i++) expect((await attempt(`u${i}@contoso.test`, PW, OFFICE)).token).toBeTruthy();
    expect((await attempt('u5@contoso.test', PW, HOME)).token).toBeTruthy();
  }, 60_000);
  afterAll(() => svc?.close());
  afterEach(() => passwordHashQueue.configure(DEFAULT_HASH_QUEUE));

  const { attempt } = passwordPage(() => svc.url);
  /** Waits until `n` hashes wait in the queue (both lanes); never a timing assertion. */
  async function untilWaiting(n: number) {
    for (;;) {
      const { waiting, priorityWaiting } = passwordHashQueue.load;
      if (waiting + priorityWaiting >= n) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('six guesses for one user and three colleagues from the office: two, then four, wait first; the user at home still goes first', async () => {
    passwordHashQueue.configure({ ...DEFAULT_HASH_QUEUE, concurrency: 1, maxWaiting: 20 });
    const g = gate();
    const blocker = passwordHashQueue.run(() => g.done);
    const pending: Promise<{ status: number; token: string | null }>[] = [];
    try {
      // An insider at the office floods with u0's name (wrong passwords), all at once.
      for (let i = 0; i < 6; i++) pending.push(attempt('u0@contoso.test', 'wrong', OFFICE));
      await untilWaiting(6);
      expect(passwordHashQueue.load).toMatchObject({ waiting: 4, priorityWaiting: 2 });
      // ... and with colleagues' names: the office's network fills its four places, no more.
      for (const u of ['u1', 'u2', 'u3']) pending.push(attempt(`${u}@contoso.test`, 'wrong', OFFICE));
      await untilWaiting(9);
      expect(passwordHashQueue.load).toMatchObject({ waiting: 5, priorityWaiting: 4 });
      // u5 signs in from home: she waits first, behind four attempts rather than nine.
      pending.push(attempt('u5@contoso.test', PW, HOME));
      await untilWaiting(10);
      expect(passwordHashQueue.load).toMatchObject({ waiting: 5, priorityWaiting: 5 });
    } finally {
      g.open();
      await blocker;
    }
    const results = await Promise.all(pending);
    expect(results.slice(0, 9).map((r) => r.status)).toEqual(Array(9).fill(401));
    expect(results[9]!.token).toBeTruthy();
  }, 60_000);
});
