/** Invitations: the admin API, the deep link, `fedbridge link`, and the sign-in that spends one. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';
import { invitationIdFor } from '../../src/invitations/index.js';
import { signIn } from '../helpers/html.js';
import { ADMIN_TOKEN, APPRU, PASSWORD, startEnrollmentService } from '../helpers/enrollment.js';
import { TestClock, type TestService } from '../helpers/service.js';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeFileSync } from 'node:fs';
import { enrollmentConfig } from '../helpers/enrollment.js';

const clock = new TestClock();
let svc: TestService;
let api: string;

function admin(body: unknown, token: string | null = ADMIN_TOKEN) {
  return fetch(api, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
}

async function invite(body: Record<string, unknown> = {}) {
  const res = await admin({ tenant: 'demo', upn: 'alice@example.com', ...body });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; expiresAt: string; accesstoken: string; link: string; servername: string; ownership: number | null };
}

beforeAll(async () => {
  svc = await startEnrollmentService({ clock });
  api = `${svc.url}/admin/api/v1/invitations`;
});
afterAll(() => svc.close());

describe('POST /admin/api/v1/invitations', () => {
  it('needs the admin bearer token', async () => {
    for (const token of [null, 'wrong-token', `${ADMIN_TOKEN}x`]) {
      const res = await admin({ tenant: 'demo', upn: 'alice@example.com' }, token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toEqual({ error: 'unauthorized' });
    }
  });

  it('answers 201 with a deep link that parses back', async () => {
    const r = await invite({ ownership: 3, ttlSeconds: 3600 });
    expect(r.id).toBe(invitationIdFor(r.accesstoken));
    expect(Date.parse(r.expiresAt)).toBe(clock.now() + 3600_000);
    expect(r.link.startsWith('ms-device-enrollment:?mode=mdm&username=')).toBe(true);
    const link = new URL(r.link);
    expect(link.protocol).toBe('ms-device-enrollment:');
    expect(Object.fromEntries(link.searchParams)).toEqual({
      mode: 'mdm',
      username: 'alice@example.com',
      servername: svc.url,
      accesstoken: r.accesstoken,
      ownership: '3',
    });
    // Every value URL-encoded: no raw ":" "/" "@" after the scheme.
    expect(r.link.slice('ms-device-enrollment:'.length)).not.toMatch(/[:/@]/);
  });

  it('uses the given servername and leaves out ownership when not given', async () => {
    const r = await invite({ servername: 'https://mdm.example.com/EnrollmentServer/Discovery.svc' });
    const q = new URL(r.link).searchParams;
    expect(q.get('servername')).toBe('https://mdm.example.com/EnrollmentServer/Discovery.svc');
    expect(q.has('ownership')).toBe(false);
    expect(Date.parse(r.expiresAt)).toBe(clock.now() + 72 * 3600_000);
  });

  it.each([
    [{ tenant: 'nope', upn: 'alice@example.com' }, 'unknown_tenant'],
    [{ tenant: 'demo', upn: 'alice@elsewhere.org' }, 'upn_not_in_tenant'],
    [{ tenant: 'demo', upn: 'not-an-email' }, 'invalid_upn'],
    [{ tenant: 'demo', upn: 'alice@example.com', ownership: 4 }, 'invalid_ownership'],
    [{ tenant: 'demo', upn: 'alice@example.com', ttlSeconds: 10 }, 'invalid_ttl'],
    [{ tenant: 'demo', upn: 'alice@example.com', ttlSeconds: 365 * 86400 }, 'invalid_ttl'],
    [{ tenant: 'demo', upn: 'alice@example.com', servername: 'javascript:alert(1)' }, 'invalid_servername'],
    [{ tenant: 'demo', upn: 'alice@example.com', servername: 'http://mdm.example.com' }, 'invalid_servername'],
    [{ tenant: 'demo' }, 'invalid_request'],
    [{ tenant: 'demo', upn: 'alice@example.com', extra: 1 }, 'invalid_request'],
  ])('refuses %j with 400 %s', async (body, code) => {
    const res = await admin(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe(code);
  });

  it('publishes an OpenAPI document describing it', async () => {
    const res = await fetch(`${svc.url}/admin/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, { post?: unknown }> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.paths['/invitations']?.post).toBeDefined();
  });
});

describe('signing in with an invitation', () => {
  const signInWith = (accesstoken: string, user = 'alice@example.com') =>
    signIn(svc.url, { appru: APPRU, hint: user, user, password: PASSWORD, extra: { accesstoken } });

  it('puts the invitation id in the token as inv', async () => {
    const r = await invite();
    const { res, token } = await signInWith(r.accesstoken);
    expect(res.status).toBe(200);
    expect(decodeJwt(token!).inv).toBe(r.id);
  });

  it('a used invitation gets the invitation_used page', async () => {
    const r = await invite();
    expect((await signInWith(r.accesstoken)).token).toBeTruthy();
    const again = await fetch(`${svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: 'alice@example.com', accesstoken: r.accesstoken })}`);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('invitation_used');
  });

  it('an expired invitation gets the invitation_expired page', async () => {
    const r = await invite({ ttlSeconds: 120 });
    clock.advance(121_000);
    const res = await fetch(`${svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: 'alice@example.com', accesstoken: r.accesstoken })}`);
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('invitation_expired');
    expect(html).not.toContain('name="wresult"');
  });

  it("another user's invitation gets a page, never a token", async () => {
    const r = await invite();
    const res = await fetch(`${svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: 'bob@example.com', accesstoken: r.accesstoken })}`);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('invitation_other_user');
  });
});

describe('admin API switched off', () => {
  it('answers 404 without admin.token', async () => {
    const off = await startEnrollmentService({ admin: false });
    try {
      const res = await fetch(`${off.url}/admin/api/v1/invitations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify({ tenant: 'demo', upn: 'alice@example.com' }),
      });
      expect(res.status).toBe(404);
      expect((await fetch(`${off.url}/admin/api/v1/openapi.json`)).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});

describe('fedbridge link', () => {
  function captureIO(extra: Record<string, string> = {}) {
    // The same HOST/PORT environment the service runs with (the file leaves them out).
    const env = { HOST: '127.0.0.1', PORT: new URL(svc.url).port, ...extra };
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), stdin: Readable.from([]), env };
    return { io, out, err };
  }
  /** The running service's own config file: the CLI works on the same store directly. */
  const configFile = () => join(svc.dir, 'config.yaml');

  it('stores an invitation the running service accepts', async () => {
    const { io, out } = captureIO();
    const code = await main(['link', '--config', configFile(), '--tenant', 'demo', '--user', 'bob@example.com', '--ownership', '2', '--ttl', '600'], io);
    expect(code).toBe(0);
    const link = new URL(out.join('').trim());
    expect(link.searchParams.get('username')).toBe('bob@example.com');
    expect(link.searchParams.get('servername')).toBe(svc.url);
    expect(link.searchParams.get('ownership')).toBe('2');
    const accesstoken = link.searchParams.get('accesstoken')!;
    const { token } = await signIn(svc.url, { appru: APPRU, hint: 'bob@example.com', user: 'bob@example.com', password: PASSWORD, extra: { accesstoken } });
    expect(decodeJwt(token!).inv).toBe(invitationIdFor(accesstoken));
  });

  it('also reads FEDBRIDGE_CONFIG', async () => {
    const { io, out } = captureIO({ FEDBRIDGE_CONFIG: configFile() });
    expect(await main(['link', '--tenant', 'demo', '--user', 'alice@example.com'], io)).toBe(0);
    expect(out.join('')).toMatch(/^ms-device-enrollment:\?mode=mdm&username=alice%40example\.com&servername=/);
  });

  it('refuses without a servername when discovery is not configured', async () => {
    const file = join(svc.dir, 'no-discovery.yaml');
    writeFileSync(file, stringify(enrollmentConfig({ discovery: false })).replaceAll('{{DIR}}', join(svc.dir, 'cli')).replaceAll('{{PORT}}', '9'));
    const { io, err } = captureIO();
    expect(await main(['link', '--config', file, '--tenant', 'demo', '--user', 'alice@example.com'], io)).toBe(1);
    expect(err.join('')).toMatch(/servername/);
    const ok = captureIO();
    expect(await main(['link', '--config', file, '--tenant', 'demo', '--user', 'alice@example.com', '--servername', 'https://mdm.example.com'], ok.io)).toBe(0);
  });

  it.each([
    [['--tenant', 'demo', '--user', 'alice@example.com', '--ownership', '0'], /ownership/],
    [['--tenant', 'demo', '--user', 'alice@other.org'], /not a domain of tenant demo/],
    [['--tenant', 'ghost', '--user', 'alice@example.com'], /no tenant/],
    [['--tenant', 'demo', '--user', 'alice@example.com', '--ttl', 'soon'], /--ttl/],
  ])('refuses %j', async (args, message) => {
    const { io, err } = captureIO();
    expect(await main(['link', '--config', configFile(), ...args], io)).toBe(1);
    expect(err.join('')).toMatch(message);
  });

  it('prints its usage without --tenant/--user', async () => {
    const { io, err } = captureIO();
    expect(await main(['link', '--config', configFile()], io)).toBe(2);
    expect(err.join('')).toMatch(/usage: fedbridge link/);
  });
});
