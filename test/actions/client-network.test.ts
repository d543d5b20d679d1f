/**
 * Per-IP limits count client networks (src/actions/ratelimit.ts clientNetwork): whatever a
 * proxy writes around the address (a port, brackets, a zone id, a prefix length) and however
 * an IPv4 client is spelled inside IPv6, one client has one budget.
 */
import { describe, expect, it } from 'vitest';
import { clientNetwork } from '../../src/actions/ratelimit.js';

describe('clientNetwork: what a proxy writes around an address does not make a new client', () => {
  it.each([
    ['198.51.100.1:1234', '198.51.100.1'],
    ['198.51.100.1:1235', '198.51.100.1'],
    ['198.51.100.1%eth0', '198.51.100.1'],
    ['198.051.100.001', '198.51.100.1'],
    ['[2001:db8:1::1]', '2001:db8:1::/64'],
    ['[2001:db8:1::1]:443', '2001:db8:1::/64'],
    ['2001:db8:1::1/64', '2001:db8:1::/64'],
    ['[::ffff:198.51.100.1]:80', '198.51.100.1'],
  ])('%s counts as %s', (raw, key) => {
    expect(clientNetwork(raw)).toBe(key);
  });

  it('IPv4 clients inside IPv6 (IPv4-compatible, NAT64) are the IPv4 address', () => {
    expect(clientNetwork('::198.51.100.1')).toBe('198.51.100.1');
    expect(clientNetwork('64:ff9b::198.51.100.1')).toBe('198.51.100.1');
    expect(clientNetwork('64:ff9b::c633:6401')).toBe('198.51.100.1');
    // The loopback and unspecified addresses are not IPv4 clients.
    expect(clientNetwork('::1')).toBe('::/64');
  });

  it('anything that is no address shares one budget, never one per spelling', () => {
    for (const junk of ['unknown', '1.2.3.4.5', '999.1.1.1', 'x'.repeat(500), '[nope]:80']) expect(clientNetwork(junk)).toBe('other');
  });
});

describe('an attempt refused before its password was checked', () => {
  it('gives the per-user slot back (a busy service locks nobody out) but keeps the per-IP slot spent', async () => {
    const { SqliteStore } = await import('../../src/store/sqlite.js');
    const { reservePasswordAttempt } = await import('../../src/actions/ratelimit.js');
    const store = SqliteStore.open(':memory:');
    const now = 1_700_000_000_000;
    const deps = {
      store,
      clock: { now: () => now },
      config: { limits: { passwordPerUser: 5, passwordPerIp: 5, authPerIp: 0, familiarDays: 30 } },
    } as unknown as Parameters<typeof reservePasswordAttempt>[0];
    const attempt = await reservePasswordAttempt(deps, 'contoso', 'ann@contoso.com', '198.51.100.7');
    await attempt.notEvaluated();
    expect(await store.count('pw:ip:198.51.100.7', 60_000, now)).toBe(1);
    expect(await store.count('pw:user:contoso:ann%40contoso.com', 60_000, now)).toBe(0);
    await store.close();
  });
});
