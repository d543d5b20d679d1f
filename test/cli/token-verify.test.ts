/**
 * `token verify` (issue #10): issuer and JWKS from a running service (--server), a token of
 * another issuer said as such, and demo mode that reads the service's keys without writing any.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyRing } from '../../src/tokens/keys.js';
import { mintToken } from '../../src/tokens/mint.js';
import { signIn } from '../helpers/html.js';
import { freePort, startService, type TestService } from '../helpers/service.js';
import { run } from './run.js';

let svc: TestService;
let token: string;
let foreign: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fedbridge-verify-'));
  svc = await startService();
  const r = await signIn(svc.url, { appru: 'ms-app://windows.immersivecontrolpanel', hint: 'alice@example.com', user: 'alice@example.com', password: 'fedbridge-demo' });
  token = r.token!;
  // The same claims from another Fedbridge (other keys, other issuer).
  const now = Date.now();
  const ring = await KeyRing.open(join(dir, 'other-keys'), 'ES256', { jwksMaxAgeSeconds: 300, tokenTtlSeconds: 600 }, now);
  foreign = (
    await mintToken(ring, {
      identity: { subject: 'a', upn: 'alice@example.com', groups: [], amr: ['pwd'], authTime: Math.floor(now / 1000), idp: { kind: 'local', id: 'x' } },
      issuer: 'https://auth.fabrikam.test',
      audience: 'urn:fedbridge:demo',
      tenantId: 'demo',
      ttlSeconds: 600,
      loginHint: null,
      client: {},
      invitationId: null,
      now,
    })
  ).token;
});
afterAll(async () => {
  await svc.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('token verify --server URL', () => {
  it("a token of the service → exit 0 with its claims (issuer and keys from the service's openid-configuration)", async () => {
    const r = await run(['token', 'verify', '--server', svc.url, token]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(JSON.parse(r.out)).toMatchObject({ iss: svc.url, upn: 'alice@example.com', tid: 'demo', replay: 'unchecked' });
    expect((await run(['token', 'verify', '--server', `${svc.url}/`, '--audience', 'urn:other', token])).err).toContain('wrong_audience');
  });

  it('a token of another issuer is reported as such, not as a bad signature', async () => {
    const r = await run(['token', 'verify', '--server', svc.url, foreign]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(`invalid: issued by https://auth.fabrikam.test, this service is ${svc.url}\n`);
  });

  it('a tampered token of this issuer is still a bad signature', async () => {
    const r = await run(['token', 'verify', '--server', svc.url, `${token.slice(0, -6)}AAAAAA`]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^invalid: bad_signature: /);
  });

  it('control characters in a foreign issuer are not printed', async () => {
    const [h, p, s] = foreign.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const evil = `${h}.${Buffer.from(JSON.stringify({ ...claims, iss: 'https://x.test/\u001b]0;owned\u0007' })).toString('base64url')}.${s}`;
    const r = await run(['token', 'verify', '--server', svc.url, evil]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`invalid: issued by https://x.test/?]0;owned?, this service is ${svc.url}\n`);
  });

  it('an unreachable server, or one without an openid-configuration → exit 1 blaming the server, not the token', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const r = await run(['token', 'verify', '--server', closed, token]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`cannot use the openid-configuration at ${closed}/.well-known/openid-configuration: ECONNREFUSED`);
    const notFound = await run(['token', 'verify', '--server', `${svc.url}/nothing-here`, token]);
    expect(notFound.err).toContain('HTTP 404');
  });

  it('--server with --jwks or --config is refused', async () => {
    const r = await run(['token', 'verify', '--server', svc.url, '--jwks', `${svc.url}/.well-known/jwks.json`, token]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('give one of --config, --server and --jwks');
  });
});

describe('token verify in demo mode (no --config)', () => {
  const demoEnv = () => ({ HOST: '127.0.0.1', PORT: new URL(svc.url).port, FEDBRIDGE_KEYS: join(svc.dir, 'keys'), FEDBRIDGE_DATA: join(svc.dir, 'data') });

  it("finds the issuer and keys as the demo service does (HOST, PORT, its key directory)", async () => {
    const r = await run(['token', 'verify', token], { env: demoEnv() });
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(JSON.parse(r.out).iss).toBe(svc.url);
  });

  it('a token of another issuer is named as such here too', async () => {
    const r = await run(['token', 'verify', foreign], { env: demoEnv() });
    expect(r.err).toBe(`invalid: issued by https://auth.fabrikam.test, this service is ${svc.url}\n`);
  });

  it('never writes keys: a missing key directory stays missing, an empty one stays empty', async () => {
    const missing = join(dir, 'no-keys-here');
    const r = await run(['token', 'verify', token], { env: { FEDBRIDGE_KEYS: missing, FEDBRIDGE_DATA: join(dir, 'data') } });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`no signing keys in ${missing} (demo mode)`);
    expect(r.err).toContain('--server URL');
    expect(existsSync(missing)).toBe(false);

    const empty = join(dir, 'empty-keys');
    mkdirSync(empty);
    expect((await run(['token', 'verify', token], { env: { FEDBRIDGE_KEYS: empty } })).code).toBe(1);
    expect(readdirSync(empty)).toEqual([]);
  });
});
