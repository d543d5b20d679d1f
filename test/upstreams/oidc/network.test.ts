/**
 * An unreachable or slow provider ends on a branded error page, quickly: every upstream
 * HTTP call has a deadline (idp.timeoutMs) that also covers reading the body.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type TestService } from '../../helpers/service.js';
import { ScriptedIdp, TID_A } from './scripted-idp.js';
import { CLIENT_SECRET, signInAs, startWithTenants } from './setup.js';
import { expectErrorPage } from './expect.js';
import { REFRESH_AFTER_MS } from '../../../src/upstreams/oidc/discovery.js';

const TIMEOUT_MS = 400;
let idp: ScriptedIdp;
let silent: Server;
const sockets: Socket[] = [];
let svc: TestService;

beforeAll(async () => {
  idp = await ScriptedIdp.start({ 'fedbridge-client': CLIENT_SECRET });
  // Accepts connections and never answers.
  silent = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const silentPort = (silent.address() as { port: number }).port;
  const closedPort = await freePort();
  const idpOpts = { timeoutMs: TIMEOUT_MS };
  svc = await startWithTenants([
    { id: 'closed', domain: 'closed.example', issuer: `http://127.0.0.1:${closedPort}/${TID_A}/v2.0`, idp: idpOpts },
    { id: 'silent', domain: 'silent.example', issuer: `http://127.0.0.1:${silentPort}/${TID_A}/v2.0`, idp: idpOpts },
    { id: 'slow', domain: 'contoso.com', issuer: idp.issuerOf(TID_A), idp: idpOpts },
  ]);
});
afterEach(() => idp.reset());
afterAll(async () => {
  await svc?.close();
  await idp?.close();
  for (const s of sockets) s.destroy();
  silent?.close();
});

async function timed<T>(p: Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await p;
  return [value, performance.now() - start];
}

describe('unreachable provider', () => {
  it('closed port → upstream_unreachable (502) at once', async () => {
    const [r, ms] = await timed(signInAs(svc, 'a@closed.example'));
    expectErrorPage(r.res, r.html, 502, 'upstream_unreachable');
    expect(ms).toBeLessThan(1000);
  });

  it('a server that never answers → upstream_unreachable (504) after the timeout', async () => {
    const [r, ms] = await timed(signInAs(svc, 'a@silent.example'));
    expectErrorPage(r.res, r.html, 504, 'upstream_unreachable');
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(TIMEOUT_MS + 1500);
  });
});

describe('slow provider during the callback', () => {
  it.each([
    ['token endpoint never answers', 'token'],
    ['token endpoint sends headers, then stalls the body', 'token-body'],
    ['JWKS never answers', 'jwks'],
  ] as const)('%s → upstream_unreachable (504)', async (_name, stall) => {
    idp.stall.add(stall);
    const [r, ms] = await timed(signInAs(svc, 'user@contoso.com'));
    expectErrorPage(r.res, r.html, 504, 'upstream_unreachable');
    expect(ms).toBeLessThan(TIMEOUT_MS * 3 + 1500);
  });
});

describe('discovery document', () => {
  it('is fetched once, then refreshed in the background after an hour', async () => {
    expect((await signInAs(svc, 'user@contoso.com')).token).toBeTruthy();
    const before = idp.discoveryRequests;
    expect((await signInAs(svc, 'user@contoso.com')).token).toBeTruthy();
    expect(idp.discoveryRequests).toBe(before);
    svc.clock.advance(REFRESH_AFTER_MS);
    expect((await signInAs(svc, 'user@contoso.com')).token).toBeTruthy();
    await expect.poll(() => idp.discoveryRequests).toBe(before + 1);
  });

  it('a refresh that fails keeps the old document in service', async () => {
    expect((await signInAs(svc, 'user@contoso.com')).token).toBeTruthy();
    idp.stall.add('discovery');
    svc.clock.advance(REFRESH_AFTER_MS);
    expect((await signInAs(svc, 'user@contoso.com')).token).toBeTruthy();
    expect((await signInAs(svc, 'user@contoso.com')).token).toBeTruthy();
  });

  it.each([
    ['names another issuer', { issuer: 'http://127.0.0.1:9/elsewhere/v2.0' }],
    ['has no token endpoint', { token_endpoint: undefined }],
    ['sends the window to plain http off loopback', { authorization_endpoint: 'http://login.example.com/authorize' }],
  ])('that %s is refused: upstream_error', async (_name, extra) => {
    idp.discoveryExtra = extra;
    const own = await startWithTenants([{ id: 'contoso', domain: 'contoso.com', issuer: idp.issuerOf(TID_A) }]);
    try {
      const r = await signInAs(own, 'user@contoso.com');
      expectErrorPage(r.res, r.html, 502, 'upstream_error');
    } finally {
      await own.close();
    }
  });
});
