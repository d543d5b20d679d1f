/** The whole demo flow over HTTP, against a real service on 127.0.0.1. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { forms, hiddenValue, signIn } from '../helpers/html.js';
import { startService, type TestService } from '../helpers/service.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
let svc: TestService;

beforeAll(async () => {
  svc = await startService();
});
afterAll(() => svc.close());

describe('demo sign-in over HTTP', () => {
  it('auth → password page → wresult page → token verifies against the JWKS', async () => {
    const { res, html, token } = await signIn(svc.url, {
      appru: APPRU,
      hint: 'alice@example.com',
      user: 'alice@example.com',
      password: 'fedbridge-demo',
      extra: { deviceidentifier: '{6F9619FF-8B86-D011-B42D-00C04FC964FF}', ownership: '3', foo: 'ignored' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toContain('form-action ms-app:');
    const f = forms(html);
    expect(f).toHaveLength(1);
    expect(f[0]).toEqual({ method: 'post', action: APPRU, names: ['wresult'] });
    expect(html).toMatch(/<button type="submit">/);
    expect(token).toBeTruthy();

    const jwks = createRemoteJWKSet(new URL(`${svc.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(token!, jwks, { issuer: svc.url, audience: 'urn:fedbridge:demo' });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    expect(protectedHeader.kid).toBeTruthy();
    expect(payload).toMatchObject({
      upn: 'alice@example.com',
      email: 'alice@example.com',
      name: 'Alice Example',
      tid: 'demo',
      idp: { kind: 'local', id: 'demo-local' },
      amr: ['pwd'],
      login_hint: 'alice@example.com',
      client: { deviceidentifier: '{6F9619FF-8B86-D011-B42D-00C04FC964FF}', ownership: '3' },
    });
    expect(payload.exp! - payload.iat!).toBe(600);
    expect(payload.nbf).toBe(payload.iat);
    expect(typeof payload.jti).toBe('string');
    expect(typeof payload.sub).toBe('string');
    expect(payload.auth_time).toBeTypeOf('number');
    expect(JSON.stringify(payload)).not.toContain('fedbridge-demo');
    expect(token!.length).toBeLessThanOrEqual(4096);
  });

  it('sub is stable per user and different between users', async () => {
    const sub = async (user: string) => {
      const { token } = await signIn(svc.url, { appru: APPRU, user, password: 'fedbridge-demo', hint: user });
      return JSON.parse(Buffer.from(token!.split('.')[1], 'base64url').toString()).sub;
    };
    const a1 = await sub('alice@example.com');
    expect(await sub('alice@example.com')).toBe(a1);
    expect(await sub('bob@example.com')).not.toBe(a1);
  });

  it('without login_hint the page asks for the work email, then the password', async () => {
    const first = await fetch(`${svc.url}/auth?appru=${encodeURIComponent(APPRU)}`);
    const html = await first.text();
    expect(first.status).toBe(200);
    expect(html).toContain('name="email"');
    const state = hiddenValue(html, 'state')!;
    const email = await fetch(`${svc.url}/auth/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ state, email: 'bob@example.com' }),
    });
    const pw = await email.text();
    expect(email.status).toBe(200);
    expect(pw).toContain('name="password"');
    expect(pw).toContain('value="bob@example.com"');
    const res = await fetch(`${svc.url}/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ state, username: 'bob@example.com', password: 'fedbridge-demo' }),
    });
    const done = await res.text();
    const token = hiddenValue(done, 'wresult')!;
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    expect(claims.upn).toBe('bob@example.com');
    expect(claims.login_hint).toBeUndefined();
  });

  it('an unknown domain keeps asking and says no organization was found', async () => {
    const first = await fetch(`${svc.url}/auth?appru=${encodeURIComponent(APPRU)}&login_hint=${encodeURIComponent('eve@nowhere.test')}`);
    const html = await first.text();
    expect(first.status).toBe(200);
    expect(html).toContain('find an organization for eve@nowhere.test');
    const state = hiddenValue(html, 'state')!;
    const again = await fetch(`${svc.url}/auth/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ state, email: 'eve@still-nowhere.test' }),
    });
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('find an organization for eve@still-nowhere.test');
  });

  it('a wrong password shows the page again with an error and no token', async () => {
    const { res, html, state } = await signIn(svc.url, { appru: APPRU, hint: 'alice@example.com', user: 'alice@example.com', password: 'wrong' });
    expect(res.status).toBe(401);
    expect(html).toContain('That email or password is not right');
    expect(html).not.toContain('wresult');
    // The transaction survives a wrong password: the right one still works.
    const ok = await fetch(`${svc.url}/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ state, username: 'alice@example.com', password: 'fedbridge-demo' }),
    });
    expect(hiddenValue(await ok.text(), 'wresult')).toBeTruthy();
  });

  it('a used transaction cannot mint a second token', async () => {
    const { state, token } = await signIn(svc.url, { appru: APPRU, hint: 'alice@example.com', user: 'alice@example.com', password: 'fedbridge-demo' });
    expect(token).toBeTruthy();
    const again = await fetch(`${svc.url}/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ state, username: 'alice@example.com', password: 'fedbridge-demo' }),
    });
    const html = await again.text();
    expect(again.status).toBe(400);
    expect(html).toContain('<code>unknown_state</code>');
    expect(html).not.toContain('wresult');
  });

  it('requireHintMatch: signing in as another user than login_hint is refused', async () => {
    const { res, html } = await signIn(svc.url, { appru: APPRU, hint: 'alice@example.com', user: 'bob@example.com', password: 'fedbridge-demo' });
    expect(res.status).toBe(403);
    expect(html).toContain('<code>hint_mismatch</code>');
    expect(html).toContain('You signed in as bob@example.com, but this enrollment was started for alice@example.com');
    expect(html).not.toContain('wresult');
  });

  it('the demo device page shows the decoded token and that it verifies', async () => {
    const appru = `${svc.url}/demo/device`;
    const { html, token, res } = await signIn(svc.url, { appru, hint: 'alice@example.com', user: 'alice@example.com', password: 'fedbridge-demo' });
    expect(res.headers.get('content-security-policy')).toContain(`form-action ${svc.url}`);
    expect(forms(html)[0].action).toBe(appru);
    const dev = await fetch(appru, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ wresult: token! }),
    });
    const page = await dev.text();
    expect(dev.status).toBe(200);
    expect(page).toContain('verifies against this service');
    expect(page).toContain('&quot;upn&quot;: &quot;alice@example.com&quot;');
    expect(page).toContain(Buffer.from(token!).toString('base64'));
    const forged = await fetch(appru, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ wresult: token!.slice(0, -4) + 'AAAA' }),
    });
    expect(await forged.text()).toContain('does NOT verify');
  });

  it('GET / lets a person play the device; every page carries the demo banner', async () => {
    const res = await fetch(`${svc.url}/`);
    const html = await res.text();
    expect(html).toContain('Demo mode');
    expect(html).toContain(`/auth?appru=${encodeURIComponent(`${svc.url}/demo/device`)}`.replace(/&/g, '&amp;'));
  });

  it('publishes metadata and keys', async () => {
    const meta = (await (await fetch(`${svc.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({ issuer: svc.url, jwks_uri: `${svc.url}/.well-known/jwks.json`, introspection_endpoint: `${svc.url}/introspect` });
    const res = await fetch(`${svc.url}/.well-known/jwks.json`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const jwks = (await res.json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const k of jwks.keys) expect(k.d).toBeUndefined();
  });

  it('health and readiness', async () => {
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${svc.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', store: 'sqlite' });
  });

  it('metrics answer loopback clients and count sign-ins', async () => {
    const res = await fetch(`${svc.url}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/fedbridge_signins_total\{tenant="demo",idp="local",result="ok"\} \d+/);
  });
});

