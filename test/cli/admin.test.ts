/**
 * The admin commands (issue #10, README "Operating it") against a running service's admin API, and
 * against a stand-in server for what the service does not offer (yet): a 404 from an endpoint
 * the server's OpenAPI document does not list is "not available on this server", exit 2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { invitationIdFor } from '../../src/invitations/index.js';
import { signIn } from '../helpers/html.js';
import { ADMIN_TOKEN, APPRU, PASSWORD, startEnrollmentService } from '../helpers/enrollment.js';
import { freePort, startService, type TestService } from '../helpers/service.js';
import { run } from './run.js';

describe('against the running service', () => {
  let svc: TestService;
  let demo: TestService;
  beforeAll(async () => {
    [svc, demo] = await Promise.all([startEnrollmentService(), startService()]);
  });
  afterAll(async () => Promise.all([svc.close(), demo.close()]));

  it('invitations create (POST /invitations) prints a deep link that signs in, from flags or the environment', async () => {
    const viaFlags = await run(['invitations', 'create', '--server', svc.url, '--token', ADMIN_TOKEN, '--tenant', 'demo', '--user', 'bob@example.com', '--ownership', '3']);
    expect(viaFlags.code, viaFlags.err).toBe(0);
    const link = new URL(viaFlags.out.trim());
    expect(link.protocol).toBe('ms-device-enrollment:');
    expect(link.searchParams.get('username')).toBe('bob@example.com');
    expect(link.searchParams.get('ownership')).toBe('3');
    expect(viaFlags.err).toMatch(/^invitation \S+ for bob@example\.com \(tenant demo\), single use, expires \d{4}-/);
    const accesstoken = link.searchParams.get('accesstoken')!;
    const { token } = await signIn(svc.url, { appru: APPRU, hint: 'bob@example.com', user: 'bob@example.com', password: PASSWORD, extra: { accesstoken } });
    expect(decodeJwt(token!).inv).toBe(invitationIdFor(accesstoken));

    const viaEnv = await run(['invitations', 'create', '--tenant', 'demo', '--user', 'alice@example.com'], {
      env: { FEDBRIDGE_SERVER: svc.url, FEDBRIDGE_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    expect(viaEnv.code, viaEnv.err).toBe(0);
    expect(viaEnv.out).toMatch(/^ms-device-enrollment:\?mode=mdm&username=alice%40example\.com&/);
  });

  it("the service's refusal is passed on with its code (a user outside the tenant), exit 1", async () => {
    const r = await run(['invitations', 'create', '--server', svc.url, '--token', ADMIN_TOKEN, '--tenant', 'demo', '--user', 'eve@elsewhere.org']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^fedbridge invitations create: POST \/admin\/api\/v1\/invitations: 400 /);
  });

  it('a wrong admin token → exit 1, said as such', async () => {
    const r = await run(['invitations', 'create', '--server', svc.url, '--token', 'wrong-token-0123456789', '--tenant', 'demo', '--user', 'bob@example.com']);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`fedbridge invitations create: ${svc.url} refused the admin token (401)\n`);
  });

  it('a service without admin.token (demo mode) → exit 2: it has no admin API', async () => {
    const r = await run(['tenant', 'list', '--server', demo.url, '--token', ADMIN_TOKEN]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('has no admin API');
  });

  it('no server, no token, a plain-http remote server → exit 2 before anything is sent', async () => {
    expect(await run(['audit', 'tail', '--token', ADMIN_TOKEN])).toMatchObject({ code: 2, err: expect.stringContaining('--server URL or FEDBRIDGE_SERVER') });
    expect(await run(['audit', 'tail', '--server', svc.url])).toMatchObject({ code: 2, err: expect.stringContaining('FEDBRIDGE_ADMIN_TOKEN or --token') });
    const plain = await run(['audit', 'tail', '--server', 'http://admin.example.com', '--token', ADMIN_TOKEN]);
    expect(plain).toMatchObject({ code: 2, err: expect.stringContaining('--server must be an https:// URL (http:// only on a loopback host)') });
  });

  it('an unreachable server → exit 1 with the reason', async () => {
    const r = await run(['tenant', 'list', '--server', `http://127.0.0.1:${await freePort()}`, '--token', ADMIN_TOKEN]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ECONNREFUSED');
  });
});

/**
 * A stand-in admin API: its OpenAPI document lists only what `routes` answers; everything
 * else is the service's JSON 404. Records what it was sent.
 */
function standIn(routes: Record<string, (req: IncomingMessage, res: ServerResponse, body: string) => void>) {
  const seen: Array<{ method: string; url: string; auth: string | undefined; body: string }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      const path = new URL(req.url!, 'http://x').pathname;
      const send = (status: number, v: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (path === '/admin/api/v1/openapi.json') {
        const paths: Record<string, Record<string, unknown>> = {};
        for (const key of Object.keys(routes)) {
          const [method, template] = key.split(' ');
          (paths[template] ??= {})[method.toLowerCase()] = {};
        }
        return send(200, { openapi: '3.1.0', paths });
      }
      const route = Object.entries(routes).find(([key]) => {
        const [method, template] = key.split(' ');
        const re = new RegExp(`^/admin/api/v1${template.replace(/\{\w+\}/g, '[^/]+')}$`);
        return method === req.method && re.test(path);
      });
      if (!route) return send(404, { error: 'not_found', error_description: 'no such page' });
      route[1](req, res, body);
    });
  });
  return {
    seen,
    async start() {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const json = (res: ServerResponse, status: number, v: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(v));
};

describe('against a server that offers only part of the admin API', () => {
  const stand = standIn({
    'GET /tenants/{id}': (_req, res) => json(res, 404, { error: 'unknown_tenant', error_description: 'no tenant ghost\u001b[31m' }),
    'POST /tenants/{id}/idp/test': (req, res) =>
      json(res, 200, {
        ok: false,
        findings: [
          { check: 'discovery', ok: true, detail: 'reachable in 12 ms' },
          { check: 'certificate', ok: false, detail: 'expires in 3 days' },
        ],
      }),
    'POST /tenants': (_req, res, body) => json(res, 201, { ...JSON.parse(body), idp: { ...JSON.parse(body).idp, clientSecret: undefined }, readOnly: false }),
    'GET /audit': (_req, res) => json(res, 200, { events: [{ id: 3, type: 'signin.ok' }, { id: 2, type: 'signin.refused' }], nextCursor: null }),
  });
  let url: string;
  beforeAll(async () => {
    url = await stand.start();
  });
  afterAll(() => stand.close());
  const admin = (...argv: string[]) => run(argv, { env: { FEDBRIDGE_SERVER: url, FEDBRIDGE_ADMIN_TOKEN: ADMIN_TOKEN } });

  it.each([
    [['tenant', 'list'], 'GET /admin/api/v1/tenants'],
    [['tenant', 'add', 'tenant.yaml'], null],
    [['tenant', 'remove', 'lab'], 'DELETE /admin/api/v1/tenants/{id}'],
    [['invitations', 'list', '--tenant', 'demo'], 'GET /admin/api/v1/invitations'],
    [['invitations', 'revoke', 'abc'], 'DELETE /admin/api/v1/invitations/{id}'],
  ])('%j → "not available on this server", exit 2', async (argv, endpoint) => {
    const r = await admin(...argv);
    if (endpoint === null) {
      // tenant add reads its file first: a missing file is said before any call.
      expect(r.code).toBe(1);
      expect(r.err).toContain('cannot read the tenant from tenant.yaml');
      return;
    }
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(`not available on this server (needs admin API ${endpoint})`);
  });

  it('a 404 from an endpoint the server has is about the thing asked for: exit 1, its message without control characters', async () => {
    const r = await admin('tenant', 'show', 'ghost');
    expect(r.code).toBe(1);
    expect(r.err).toBe('fedbridge tenant show: GET /admin/api/v1/tenants/{id}: 404 unknown_tenant: no tenant ghost?[31m\n');
  });

  it('idp test prints one line per finding and exits 1 when one fails; the token went as a bearer header', async () => {
    const r = await admin('idp', 'test', 'contoso');
    expect(r.code).toBe(1);
    expect(r.out).toBe('ok    discovery: reachable in 12 ms\nFAIL  certificate: expires in 3 days\n');
    const call = stand.seen.find((s) => s.method === 'POST');
    expect(call).toMatchObject({ url: '/admin/api/v1/tenants/contoso/idp/test', auth: `Bearer ${ADMIN_TOKEN}` });
  });

  it("tenant add sends the file's tenant as JSON with ${ENV} substituted; a missing variable stops it before sending", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedbridge-tenant-'));
    try {
      const file = join(dir, 'lab.yaml');
      writeFileSync(file, 'id: lab\ndisplayName: Lab\ndomains: [lab.test]\nidp: { kind: oidc, issuer: "https://idp.lab.test", clientId: c, clientSecret: "${LAB_SECRET}" }\n');
      const sent = stand.seen.length;
      const missing = await admin('tenant', 'add', file);
      expect(missing.code).toBe(1);
      expect(missing.err).toContain('idp.clientSecret: environment variable LAB_SECRET is not set');
      expect(stand.seen.length).toBe(sent);

      const r = await run(['tenant', 'add', file], { env: { FEDBRIDGE_SERVER: url, FEDBRIDGE_ADMIN_TOKEN: ADMIN_TOKEN, LAB_SECRET: 'lab-secret-value' } });
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(stand.seen.at(-1)!.body)).toEqual({
        id: 'lab',
        displayName: 'Lab',
        domains: ['lab.test'],
        idp: { kind: 'oidc', issuer: 'https://idp.lab.test', clientId: 'c', clientSecret: 'lab-secret-value' },
      });
      expect(JSON.parse(r.out)).toMatchObject({ id: 'lab', readOnly: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('audit tail asks for the newest events with its filters and prints them oldest first, one JSON line each', async () => {
    const r = await admin('audit', 'tail', '--limit', '2', '--type', 'signin.ok', '--tenant', 'demo');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('{"id":2,"type":"signin.refused"}\n{"id":3,"type":"signin.ok"}\n');
    expect(stand.seen.at(-1)!.url).toBe('/admin/api/v1/audit?limit=2&type=signin.ok&tenant=demo');
  });
});
