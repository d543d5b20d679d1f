/**
 * Issue #11: "Redis killed and restarted empty: every token consumed before was accepted again by
 * another device (20 of 20)". Through the whole service and /introspect: after the store forgets,
 * no token consumed before is accepted again (docs/operations.md, fail closed).
 */
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../helpers/html.js';
import { TestClock, startService, type TestService } from '../helpers/service.js';
import { useServiceOnRedis } from '../helpers/on-redis.js';
import { APPRU, CLIENT, PASSWORD, enrollmentConfig } from '../helpers/enrollment.js';
import { buildEnrollEnvelope, buildGetPoliciesEnvelope } from '../../src/soap/build.js';

const ask = async (svc: TestService, token: string) => {
  const res = await fetch(`${svc.url}/introspect`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  expect(res.status).toBe(200);
  return res.json() as Promise<Record<string, unknown>>;
};
const enroll = (svc: TestService, token: string, deviceId: string) => ask(svc, buildEnrollEnvelope({ token, deviceId }));
const newToken = async (svc: TestService) => {
  const { token } = await signIn(svc.url, { appru: APPRU, hint: 'alice@example.com', user: 'alice@example.com', password: PASSWORD });
  expect(token).toBeTruthy();
  return token!;
};

describe('Redis restarted empty under a running service', () => {
  const env = useServiceOnRedis();

  it('no token consumed before the restart is accepted again, for any device; new sign-ins work after 5 s', async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 5; i++) tokens.push(await newToken(env.svc));
    for (const [i, t] of tokens.entries()) expect(await enroll(env.svc, t, `D${i}`)).toMatchObject({ active: true, replay: 'consumed' });

    await env.redis.restart();
    for (let i = 0; ; i++) {
      if ((await fetch(`${env.svc.url}/readyz`)).status === 200) break;
      if (i > 100) throw new Error('not ready after the restart');
      await new Promise((r) => setTimeout(r, 25));
    }

    for (const [i, t] of tokens.entries()) {
      expect(await enroll(env.svc, t, `other-${i}`)).toMatchObject({ active: false, error: 'replayed' });
      expect(await enroll(env.svc, t, `D${i}`)).toMatchObject({ active: false, error: 'replayed' });
    }
    // GetPolicies grants nothing and stays valid (docs/enrollment-server.md).
    expect(await ask(env.svc, buildGetPoliciesEnvelope({ token: tokens[0]! }))).toMatchObject({ active: true });
    // A sign-in past the clock-skew margin enrolls as usual.
    env.svc.clock.advance(6000);
    const fresh = await newToken(env.svc);
    expect(await enroll(env.svc, fresh, 'N1')).toMatchObject({ active: true, replay: 'consumed' });
  }, 30_000);
});

describe('SQLite file deleted under running services', () => {
  let shared: string;
  beforeAll(() => {
    shared = mkdtempSync(join(tmpdir(), 'fedbridge-shared-'));
  });
  afterAll(() => rmSync(shared, { recursive: true, force: true }));
  // Both services issue and check tokens for one issuer, sharing the keys and the database file.
  // Each test has its own shared directory (`sub`).
  const config = (sub: string) =>
    enrollmentConfig({
      extra: {
        server: { publicUrl: 'http://127.0.0.1:9' },
        store: { kind: 'sqlite', path: join(shared, sub, 'data', 'fedbridge.db') },
        keys: { dir: join(shared, sub, 'keys') },
      },
    });
  const wipe = (sub: string) => {
    for (const f of ['fedbridge.db', 'fedbridge.db-wal', 'fedbridge.db-shm']) {
      try {
        unlinkSync(join(shared, sub, 'data', f));
      } catch {
        // not there
      }
    }
  };

  it('replaced while running: the running service and a newly started one both answer replayed', async () => {
    const a = await startService({ file: config('running') });
    try {
      const token = await newToken(a);
      expect(await enroll(a, token, 'D1')).toMatchObject({ active: true, replay: 'consumed' });
      wipe('running');
      const b = await startService({ file: config('running') });
      try {
        expect(await enroll(a, token, 'D2')).toMatchObject({ active: false, error: 'replayed' });
        expect(await enroll(b, token, 'D3')).toMatchObject({ active: false, error: 'replayed' });
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
    }
  }, 30_000);

  it('deleted between two starts sharing keys: the token is replayed', async () => {
    const a = await startService({ file: config('restart') });
    const token = await newToken(a);
    expect(await enroll(a, token, 'D1')).toMatchObject({ active: true, replay: 'consumed' });
    await a.close();
    wipe('restart');
    // The restart takes a while (2 s here); the token is still within its lifetime.
    const b = await startService({ file: config('restart'), clock: new TestClock(Date.now() + 2000) });
    try {
      expect(await enroll(b, token, 'D2')).toMatchObject({ active: false, error: 'replayed' });
      const fresh = await newToken(b);
      expect(await enroll(b, fresh, 'D2')).toMatchObject({ active: true, replay: 'consumed' });
    } finally {
      await b.close();
    }
  }, 30_000);
});
