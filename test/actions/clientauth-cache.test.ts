/**
 * The cache of accepted Authorization headers (src/actions/clientauth.ts) must never turn a
 * refusal into an acceptance: only successes are kept, per config, and a changed secret (a new
 * config) refuses the old header at once.
 */
import { describe, expect, it } from 'vitest';
import type { Context } from 'koa';
import { authenticateClient } from '../../src/actions/clientauth.js';
import { FedbridgeError } from '../../src/errors.js';

type Clients = Parameters<typeof authenticateClient>[1];
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
function ctx(authorization: string): Context {
  const headers: Record<string, string> = {};
  return { get: (name: string) => (name.toLowerCase() === 'authorization' ? authorization : ''), set: (k: string, v: string) => void (headers[k] = v) } as unknown as Context;
}
const refused = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof FedbridgeError && err.status === 401;
  }
  return false;
};

describe('accepted-header cache', () => {
  const clients = [{ id: 'mdm', secret: 's3cret-one' }, { id: 'other', secret: 's3cret-two', tenants: ['t1'] }] as unknown as Clients;

  it('a wrong secret is refused before and after the right one was accepted', () => {
    expect(refused(() => authenticateClient(ctx(basic('mdm', 'wrong')), clients))).toBe(true);
    expect(authenticateClient(ctx(basic('mdm', 's3cret-one')), clients)).toBe(clients[0]);
    expect(authenticateClient(ctx(basic('mdm', 's3cret-one')), clients)).toBe(clients[0]);
    expect(refused(() => authenticateClient(ctx(basic('mdm', 's3cret-on')), clients))).toBe(true);
    expect(refused(() => authenticateClient(ctx(basic('mdm', 's3cret-one2')), clients))).toBe(true);
    expect(refused(() => authenticateClient(ctx(''), clients))).toBe(true);
  });

  it('each header maps to its own client', () => {
    expect(authenticateClient(ctx(basic('other', 's3cret-two')), clients)).toBe(clients[1]);
    expect(authenticateClient(ctx(basic('mdm', 's3cret-one')), clients)).toBe(clients[0]);
    expect(refused(() => authenticateClient(ctx(basic('other', 's3cret-one')), clients))).toBe(true);
  });

  it('a new config (secret rotated) refuses the header the old one accepted', () => {
    const header = basic('mdm', 's3cret-one');
    expect(authenticateClient(ctx(header), clients)).toBe(clients[0]);
    const rotated = [{ id: 'mdm', secret: 's3cret-new' }] as unknown as Clients;
    expect(refused(() => authenticateClient(ctx(header), rotated))).toBe(true);
    expect(authenticateClient(ctx(basic('mdm', 's3cret-new')), rotated)).toBe(rotated[0]);
  });

  it('many distinct accepted headers do not grow it without bound nor break acceptance', () => {
    // form-urlencoding inside Basic (RFC 6749 §2.3.1) gives many spellings of one credential
    for (let i = 0; i < 200; i++) {
      const header = `Basic ${Buffer.from(`mdm:s3cret-one`).toString('base64')}${' '.repeat(i % 50)}`;
      expect(authenticateClient(ctx(header), clients)).toBe(clients[0]);
    }
    expect(refused(() => authenticateClient(ctx(basic('mdm', 'nope')), clients))).toBe(true);
  });
});
