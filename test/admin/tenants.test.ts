/**
 * The tenants part of the admin API over HTTP, every answer checked against the published
 * OpenAPI document: CRUD, every 409 rule, 404s, write-only secrets (the whole answer searched
 * for the secret), every field problem of a bad body, and the audit events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../helpers/html.js';
import { AdminClient } from './openapi-check.js';
import { APPRU, baseFile, hashOf, localTenant, startWithFile, type Running } from '../tenants/helpers.js';

let svc: Running;
let api: AdminClient;

const OIDC_SECRET = 'oidc-client-secret-never-shown-7c1f';
const FILE_SECRET = 'file-client-secret-never-shown-91ab';

beforeAll(async () => {
  svc = await startWithFile(
    baseFile({
      tenants: [
        localTenant('contoso', 'contoso.test', 'pw-contoso-1'),
        { id: 'filecorp', displayName: 'File Corp', domains: ['filecorp.test'], idp: { kind: 'oidc', issuer: 'https://idp.filecorp.test', clientId: 'fc', clientSecret: FILE_SECRET } },
      ],
    }),
    { tenantPollMs: 0 },
  );
  api = await AdminClient.open(svc.url);
}, 60_000);
afterAll(async () => {
  await svc?.close();
});

const oidcTenant = (id: string, domain: string, extra: Record<string, unknown> = {}) => ({
  id,
  displayName: `OIDC ${id}`,
  domains: [domain],
  idp: { kind: 'oidc', issuer: `https://idp.${domain}`, clientId: `client-${id}`, clientSecret: OIDC_SECRET },
  ...extra,
});

describe('tenants API', () => {
  it('lists file tenants read-only, creates, reads, replaces and deletes store tenants', async () => {
    const list = await api.call('get', '/tenants');
    expect(list.status).toBe(200);
    expect(list.json.tenants).toEqual([
      expect.objectContaining({ id: 'contoso', source: 'file', readOnly: true, version: null, updatedAt: null }),
      expect.objectContaining({ id: 'filecorp', source: 'file', readOnly: true, version: null }),
    ]);

    const created = await api.call('post', '/tenants', { body: localTenant('fabrikam', 'fabrikam.test', 'pw-fabrikam-1') });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${svc.url}/admin/api/v1/tenants/fabrikam`);
    expect(created.json).toMatchObject({ id: 'fabrikam', source: 'store', readOnly: false, version: 1, tenant: { id: 'fabrikam', domains: ['fabrikam.test'] } });
    expect(created.text).not.toContain(hashOf('pw-fabrikam-1'));
    expect(created.text).not.toContain('passwordHash');

    const got = await api.call('get', '/tenants/{id}', { params: { id: 'fabrikam' } });
    expect(got.status).toBe(200);
    expect(got.json.tenant.idp.users).toEqual([{ upn: 'user@fabrikam.test' }]);

    // The answer's tenant goes back as is (no hash): the stored hash stays and the password still works.
    const replaced = await api.call('put', '/tenants/{id}', { params: { id: 'fabrikam' }, body: { ...got.json.tenant, displayName: 'Fabrikam Ltd' } });
    expect(replaced.status).toBe(200);
    expect(replaced.json).toMatchObject({ version: 2, tenant: { displayName: 'Fabrikam Ltd' } });
    const ok = await signIn(svc.url, { appru: APPRU, hint: 'user@fabrikam.test', user: 'user@fabrikam.test', password: 'pw-fabrikam-1' });
    expect(ok.token).toBeTruthy();
    expect(ok.html).toContain('Fabrikam Ltd');

    const deleted = await api.call('delete', '/tenants/{id}', { params: { id: 'fabrikam' } });
    expect(deleted.status).toBe(204);
    expect((await api.call('get', '/tenants/{id}', { params: { id: 'fabrikam' } })).status).toBe(404);
    const after = await signIn(svc.url, { appru: APPRU, hint: 'user@fabrikam.test', user: 'user@fabrikam.test', password: 'pw-fabrikam-1' });
    expect(after.token).toBeNull();
  }, 60_000);

  it('409 conflict for every clash, 404 for an unknown tenant; nothing of a refused write sticks', async () => {
    expect((await api.call('post', '/tenants', { body: oidcTenant('a1', 'a1.test') })).status).toBe(201);
    const cases: Array<[string, string, Record<string, unknown>]> = [
      ['post', '/tenants', { body: oidcTenant('contoso', 'elsewhere.test') }], // file tenant's id
      ['post', '/tenants', { body: oidcTenant('b1', 'contoso.test') }], // file tenant's domain
      ['post', '/tenants', { body: oidcTenant('a1', 'a2.test') }], // store tenant's id
      ['post', '/tenants', { body: oidcTenant('b1', 'a1.test') }], // store tenant's domain
      ['put', '/tenants/{id}', { params: { id: 'contoso' }, body: localTenant('contoso', 'contoso.test', 'pw-contoso-1') }],
      ['delete', '/tenants/{id}', { params: { id: 'filecorp' } }],
    ];
    for (const [method, path, req] of cases) {
      const a = await api.call(method, path, req);
      expect(a.status, `${method} ${path} ${JSON.stringify(req).slice(0, 80)}`).toBe(409);
      expect(a.json.error).toBe('conflict');
      expect(a.text).not.toContain(OIDC_SECRET);
    }
    expect((await api.call('post', '/tenants', { body: oidcTenant('b1', 'b1.test') })).status).toBe(201);
    const moved = await api.call('put', '/tenants/{id}', { params: { id: 'b1' }, body: oidcTenant('b1', 'a1.test') });
    expect(moved.status).toBe(409);
    expect((await api.call('get', '/tenants/{id}', { params: { id: 'b1' } })).json).toMatchObject({ version: 1, tenant: { domains: ['b1.test'] } });
    expect((await api.call('get', '/tenants')).json.tenants.map((t: { id: string }) => t.id)).toEqual(['contoso', 'filecorp', 'a1', 'b1']);

    for (const [method, req] of [
      ['get', { params: { id: 'nobody' } }],
      ['put', { params: { id: 'nobody' }, body: oidcTenant('nobody', 'nobody.test') }],
      ['delete', { params: { id: 'nobody' } }],
    ] as const) {
      const a = await api.call(method, '/tenants/{id}', req);
      expect(a.status).toBe(404);
      expect(a.json.error).toBe('unknown_tenant');
    }
    const renamed = await api.call('put', '/tenants/{id}', { params: { id: 'b1' }, body: oidcTenant('b2', 'b1.test') });
    expect(renamed.status).toBe(400);
    expect(renamed.json.errors).toEqual([expect.objectContaining({ path: 'body.id' })]);
    for (const id of ['a1', 'b1']) expect((await api.call('delete', '/tenants/{id}', { params: { id } })).status).toBe(204);
  }, 60_000);

  it('never returns a secret, of store or file tenants; a replace without the secret keeps it', async () => {
    const answers: string[] = [];
    const created = await api.call('post', '/tenants', { body: oidcTenant('s1', 's1.test') });
    expect(created.status).toBe(201);
    answers.push(created.text);
    answers.push((await api.call('get', '/tenants')).text);
    answers.push((await api.call('get', '/tenants/{id}', { params: { id: 's1' } })).text);
    answers.push((await api.call('get', '/tenants/{id}', { params: { id: 'filecorp' } })).text);
    const { clientSecret: _omitted, ...idp } = oidcTenant('s1', 's1.test').idp;
    const put = await api.call('put', '/tenants/{id}', { params: { id: 's1' }, body: { ...oidcTenant('s1', 's1.test'), idp: { ...idp, clientId: 'renamed' } } });
    expect(put.status).toBe(200);
    answers.push(put.text);
    for (const text of answers) {
      expect(text).not.toContain(OIDC_SECRET);
      expect(text).not.toContain(FILE_SECRET);
      expect(text).not.toContain('clientSecret');
    }
    const running = svc.service.deps.directory.current().tenants.get('s1')!.config.idp;
    expect(running).toMatchObject({ clientId: 'renamed', clientSecret: OIDC_SECRET });

    await svc.service.deps.audit.flush();
    const { events } = await svc.service.deps.store.queryAudit({ limit: 100, tenantId: 's1' });
    const types = events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['tenant.created', 'tenant.updated']));
    const mine = events.filter((e) => e.type.startsWith('tenant.'));
    for (const e of mine) expect(e.requestId).toBeTruthy();
    expect(JSON.stringify(events)).not.toContain(OIDC_SECRET);
    expect((await api.call('delete', '/tenants/{id}', { params: { id: 's1' } })).status).toBe(204);
    await svc.service.deps.audit.flush();
    const gone = await svc.service.deps.store.queryAudit({ limit: 10, tenantId: 's1', type: 'tenant.deleted' });
    expect(gone.events).toHaveLength(1);
  }, 60_000);

  it('an invalid body lists every field problem, each with its path', async () => {
    const bad = await api.call('post', '/tenants', {
      body: { id: 'Bad Id', displayName: '', domains: ['not a domain'], colour: 'red', policy: { requireMfa: 'yes' }, idp: { kind: 'oidc', issuer: 'http://plain.example', clientId: 'x' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('invalid_request');
    const paths = bad.json.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['body.id', 'body.displayName', 'body.domains[0]', 'body.colour', 'body.policy.requireMfa', 'body.idp.issuer']));
    const kind = await api.call('post', '/tenants', { body: { id: 'k1', displayName: 'K', domains: ['k1.test'], idp: { kind: 'kerberos' } } });
    expect(kind.status).toBe(400);
    expect(kind.json.errors).toEqual([expect.objectContaining({ path: 'body.idp.kind' })]);
    const rules = await api.call('post', '/tenants', { body: { id: 'r1', displayName: 'R', domains: ['r1.test'], idp: { kind: 'oidc', issuer: 'https://idp.r1.test', clientId: 'x' } } });
    expect(rules.status).toBe(400);
    expect(rules.json.errors).toEqual([{ path: 'body.idp.clientSecret', message: 'required for client_secret_basic' }]);
    expect((await api.call('post', '/tenants', { body: [1, 2] })).status).toBe(400);
    // No file on the server can be named through the API.
    const files = await api.call('post', '/tenants', {
      body: { id: 'f1', displayName: 'F', domains: ['f1.test'], idp: { kind: 'saml', metadataFile: '/etc/passwd', spKeyFile: '/etc/ssl/private/host.key', spCertFile: '/etc/ssl/certs/host.pem' } },
    });
    expect(files.status).toBe(400);
    expect(files.json.errors.map((e: { path: string }) => e.path)).toEqual(['body.idp.metadataFile', 'body.idp.spKeyFile', 'body.idp.spCertFile']);
    expect(files.text).not.toContain('root:');
    // Nothing was created.
    expect((await api.call('get', '/tenants')).json.tenants).toHaveLength(2);
  });
});
