/**
 * Issue #7, findings 3-5: password limits are reserved before the hash (no race), smart
 * lockout keeps a person's familiar addresses usable while an attacker elsewhere spends the
 * shared budget, every limit page says when to retry, and per-IP limits count an IPv6 /64
 * (and every spelling of one address) as one client. Run on SQLite and on a real Redis.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { forms, hiddenValue } from '../helpers/html.js';
import { startService, type TestService } from '../helpers/service.js';
import { startRedis } from '../helpers/redis.js';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { clientNetwork } from '../../src/actions/ratelimit.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
const PW = 'contoso-pw-1234';
const HASH = hashPasswordSync(PW);
const DAY = 86_400_000;

function contosoFile(store: Record<string, unknown>, limits: Record<string, number>): Record<string, unknown> {
  return {
    server: { publicUrl: 'http://127.0.0.1:{{PORT}}', trustProxy: true },
    store,
    keys: { dir: '{{DIR}}/keys' },
    limits,
    tenants: [
      {
        id: 'contoso',
        displayName: 'Contoso Ltd',
        domains: ['contoso.test'],
        idp: {
          kind: 'local',
          users: ['ann', 'ben', 'cy', 'dee'].map((n) => ({ upn: `${n}@contoso.test`, passwordHash: HASH })),
        },
      },
    ],
  };
}

/** A request from `ip`: the service trusts one proxy hop, the last X-Forwarded-For entry. */
async function from(base: string, ip: string, path: string, body?: Record<string, string>) {
  const res = await fetch(`${base}${path}`, {
    method: body ? 'POST' : 'GET',
    redirect: 'manual',
    headers: { 'x-forwarded-for': ip, ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body: body ? new URLSearchParams(body) : undefined,
  });
  return { res, html: await res.text() };
}

/** A sign-in for `hint` (whose tenant is then known: the password page is next). */
async function startState(base: string, ip: string, hint = 'ann@contoso.test'): Promise<string> {
  const { res, html } = await from(base, ip, `/auth?${new URLSearchParams({ appru: APPRU, login_hint: hint })}`);
  const state = hiddenValue(html, 'state');
  if (!state) throw new Error(`no state (status ${res.status})`);
  return state;
}

/** One password attempt from `ip` on a fresh sign-in started from a neutral address. */
async function attempt(base: string, ip: string, username: string, password: string, state?: string) {
  const s = state ?? (await startState(base, '192.0.2.200', username));
  const r = await from(base, ip, '/auth/password', { state: s, username, password });
  return { ...r, token: hiddenValue(r.html, 'wresult') };
}

/** What Retry-After must say at this (frozen) test clock: the rest of the minute window. */
const windowRest = (now: number) => Math.ceil(((Math.floor(now / 60_000) + 1) * 60_000 - now) / 1000);

function expectLimitPage(res: Response, html: string, code: string, now: number): void {
  expect(res.status).toBe(429);
  expect(html).toContain(`<code>${code}</code>`);
  expect(forms(html)).toHaveLength(0);
  expect(html).not.toContain('wresult');
  const seconds = windowRest(now);
  expect(res.headers.get('retry-after')).toBe(String(seconds));
  expect(html).toContain(seconds === 1 ? 'You can try again in 1 second.' : `You can try again in ${seconds} seconds.`);
}

describe('clientNetwork: one key per client network', () => {
  it('every spelling of one IPv6 address, and its /64 neighbours, give the same key', () => {
    const same = ['2001:DB8:1::1', '2001:db8:1:0:0:0:0:1', '2001:0db8:0001:0000:0000:0000:0000:0001', '2001:db8:1::ffff:1', '2001:db8:1:0:abcd::9', 'fe80::1%eth0'.replace('fe80::1', '2001:db8:1::2')];
    expect(new Set(same.map(clientNetwork))).toEqual(new Set(['2001:db8:1::/64']));
    expect(clientNetwork('2001:db8:1:1::1')).toBe('2001:db8:1:1::/64');
    expect(clientNetwork('2001:db8::1')).toBe('2001:db8::/64');
    expect(clientNetwork('::1')).toBe('::/64');
  });

  it('IPv4-mapped IPv6 is the IPv4 address; IPv4 is kept as is', () => {
    for (const a of ['::ffff:192.0.2.5', '::FFFF:192.0.2.5', '::ffff:c000:205', '0:0:0:0:0:ffff:c000:0205', '192.0.2.5']) {
      expect(clientNetwork(a)).toBe('192.0.2.5');
    }
    expect(clientNetwork('192.0.2.6')).toBe('192.0.2.6');
  });

  it('something that is no address gets the one shared key `other`, never one of an address nor one per spelling', () => {
    expect(clientNetwork('unknown')).toBe('other');
    expect(clientNetwork('1.2.3.4.5')).toBe('other');
    expect(clientNetwork('x'.repeat(500))).toBe('other');
  });
});

const stores = [
  { name: 'sqlite', store: () => ({ kind: 'sqlite', path: '{{DIR}}/data/fedbridge.db' }) },
  { name: 'redis', store: () => ({ kind: 'redis', url: redis.url }) },
];
let redis: Awaited<ReturnType<typeof startRedis>>;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe.each(stores)('password limits on $name', ({ store }) => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService({ file: contosoFile(store(), { passwordPerUser: 3, passwordPerIp: 5, authPerIp: 10_000, familiarDays: 2 }) });
  });
  afterAll(() => svc?.close());

  /** Counts the calls that reach the password check (the scrypt). */
  const countHashes = () => vi.spyOn(svc.service.deps.upstreams.get('contoso')!, 'password');

  it('40 and then 200 concurrent wrong guesses for one user from as many addresses: only 3 reach the hash', async () => {
    svc.clock.advance(60_000);
    const state = await startState(svc.url, '192.0.2.200');
    const hashes = countHashes();
    try {
      const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => attempt(svc.url, `198.51.100.${i + 1}`, 'ann@contoso.test', 'wrong', state)));
      expect(hashes).toHaveBeenCalledTimes(3);
      expect(burst.filter((r) => r.res.status === 401)).toHaveLength(3);
      const refused = burst.filter((r) => r.res.status === 429);
      expect(refused).toHaveLength(37);
      expectLimitPage(refused[0].res, refused[0].html, 'too_many_attempts', svc.clock.now());

      const more = await Promise.all(
        Array.from({ length: 200 }, (_, i) => attempt(svc.url, `2001:db8:${i + 1}::1`, 'ANN@contoso.test ', 'wrong', state)),
      );
      expect(hashes).toHaveBeenCalledTimes(3);
      expect(more.every((r) => r.res.status === 429)).toBe(true);
    } finally {
      hashes.mockRestore();
    }
  });

  it('80 concurrent wrong guesses from one address for 80 users: only 5 (passwordPerIp) reach the hash', async () => {
    svc.clock.advance(60_000);
    const state = await startState(svc.url, '192.0.2.200');
    const hashes = countHashes();
    try {
      const burst = await Promise.all(Array.from({ length: 80 }, (_, i) => attempt(svc.url, '203.0.113.80', `user${i}@contoso.test`, 'wrong', state)));
      expect(hashes).toHaveBeenCalledTimes(5);
      expect(burst.filter((r) => r.res.status === 401)).toHaveLength(5);
      expect(burst.filter((r) => r.res.status === 429)).toHaveLength(75);
    } finally {
      hashes.mockRestore();
    }
  });

  it('a right password gives its reserved attempt back: 6 sign-ins in a row from one address all work', async () => {
    svc.clock.advance(60_000);
    for (let i = 0; i < 6; i++) {
      const ok = await attempt(svc.url, '203.0.113.90', 'ben@contoso.test', PW);
      expect(ok.token, `sign-in ${i + 1}`).toBeTruthy();
    }
    // ...while wrong ones keep theirs: 5 wrong from that address, then even the right one waits.
    for (let i = 0; i < 5; i++) expect((await attempt(svc.url, '203.0.113.90', `x${i}@contoso.test`, 'wrong')).res.status).toBe(401);
    const blocked = await attempt(svc.url, '203.0.113.90', 'ben@contoso.test', PW);
    expectLimitPage(blocked.res, blocked.html, 'too_many_attempts', svc.clock.now());
  });

  it('smart lockout: guesses from elsewhere lock the shared budget, not the addresses the user signed in from', async () => {
    svc.clock.advance(60_000);
    // Ann signs in at the office (IPv4) and at home (an IPv6 /64).
    expect((await attempt(svc.url, '192.0.2.10', 'ann@contoso.test', PW)).token).toBeTruthy();
    expect((await attempt(svc.url, '2001:db8:77:1::1', 'ann@contoso.test', PW)).token).toBeTruthy();

    svc.clock.advance(60_000);
    // An attacker guesses from ten addresses: three wrong answers, then 429s.
    const statuses = [];
    for (let i = 1; i <= 10; i++) statuses.push((await attempt(svc.url, `203.0.113.${i}`, 'ann@contoso.test', 'guess')).res.status);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
    // The right password from a new address is refused too (that budget is spent)...
    const elsewhere = await attempt(svc.url, '198.51.100.200', 'ann@contoso.test', PW);
    expectLimitPage(elsewhere.res, elsewhere.html, 'too_many_attempts', svc.clock.now());
    // ...but Ann still signs in where she usually does: the office, and any address of her home /64.
    expect((await attempt(svc.url, '192.0.2.10', 'ann@contoso.test', PW)).token).toBeTruthy();
    expect((await attempt(svc.url, '2001:DB8:77:1:0:0:0:abcd', 'ann@contoso.test', PW)).token).toBeTruthy();
    // The attacker cannot make his own address familiar by failing from it.
    expect((await attempt(svc.url, '203.0.113.1', 'ann@contoso.test', 'guess')).res.status).toBe(429);
    // A familiar address has a budget of its own, not an unlimited one.
    for (let i = 0; i < 3; i++) expect((await attempt(svc.url, '192.0.2.10', 'ann@contoso.test', 'typo')).res.status).toBe(401);
    expect((await attempt(svc.url, '192.0.2.10', 'ann@contoso.test', PW)).res.status).toBe(429);
    // ...and it is Ann's alone: the office address is not familiar for Ben.
    for (let i = 1; i <= 3; i++) expect((await attempt(svc.url, `203.0.113.${20 + i}`, 'ben@contoso.test', 'guess')).res.status).toBe(401);
    expect((await attempt(svc.url, '192.0.2.10', 'ben@contoso.test', PW)).res.status).toBe(429);
  });

  it('a familiar address is forgotten after limits.familiarDays', async () => {
    svc.clock.advance(60_000);
    expect((await attempt(svc.url, '192.0.2.30', 'cy@contoso.test', PW)).token).toBeTruthy();
    svc.clock.advance(DAY); // still familiar
    for (let i = 1; i <= 3; i++) await attempt(svc.url, `203.0.113.${30 + i}`, 'cy@contoso.test', 'guess');
    expect((await attempt(svc.url, '192.0.2.30', 'cy@contoso.test', PW)).token).toBeTruthy();
    svc.clock.advance(2 * DAY + 60_000); // over two days after the last sign-in there: forgotten
    for (let i = 1; i <= 3; i++) await attempt(svc.url, `203.0.113.${30 + i}`, 'cy@contoso.test', 'guess');
    const res = await attempt(svc.url, '192.0.2.30', 'cy@contoso.test', PW);
    expectLimitPage(res.res, res.html, 'too_many_attempts', svc.clock.now());
  });
});

describe('per-IP limits count an IPv6 /64 and every spelling of an address as one client', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService({ file: contosoFile({ kind: 'sqlite', path: '{{DIR}}/data/fedbridge.db' }, { passwordPerUser: 100, passwordPerIp: 2, authPerIp: 3 }) });
  });
  afterAll(() => svc?.close());

  const start = (ip: string) => from(svc.url, ip, `/auth?${new URLSearchParams({ appru: APPRU })}`);

  it('authPerIp: three spellings of one address, then a /64 neighbour is refused with Retry-After', async () => {
    for (const ip of ['2001:DB8:1::1', '2001:db8:1:0:0:0:0:1', '2001:db8:1::abcd']) expect((await start(ip)).res.status).toBe(200);
    const neighbour = await start('2001:0db8:0001:0000:ffff::9');
    expectLimitPage(neighbour.res, neighbour.html, 'too_many_requests', svc.clock.now());
    expect((await start('2001:db8:2::1')).res.status).toBe(200); // another /64 is another client
  });

  it('authPerIp: an IPv4 address and its IPv4-mapped IPv6 forms are one client', async () => {
    for (const ip of ['192.0.2.5', '::ffff:192.0.2.5', '::ffff:c000:205']) expect((await start(ip)).res.status).toBe(200);
    expect((await start('0:0:0:0:0:FFFF:192.0.2.5')).res.status).toBe(429);
  });

  it('passwordPerIp: wrong passwords from one /64 in different spellings share one budget', async () => {
    const state = hiddenValue((await from(svc.url, '192.0.2.99', `/auth?${new URLSearchParams({ appru: APPRU, login_hint: 'ann@contoso.test' })}`)).html, 'state')!;
    const go = (ip: string, username: string) => from(svc.url, ip, '/auth/password', { state, username, password: 'wrong' });
    expect((await go('2001:db8:5::1', 'ann@contoso.test')).res.status).toBe(401);
    expect((await go('2001:DB8:5:0::2', 'ben@contoso.test')).res.status).toBe(401);
    const third = await go('2001:db8:5:0:1:2:3:4', 'cy@contoso.test');
    expectLimitPage(third.res, third.html, 'too_many_attempts', svc.clock.now());
    expect((await go('::ffff:198.51.100.5', 'dee@contoso.test')).res.status).toBe(401);
    expect((await go('198.51.100.5', 'dee@contoso.test')).res.status).toBe(401);
    expect((await go('::ffff:c633:6405', 'dee@contoso.test')).res.status).toBe(429);
  });
});
