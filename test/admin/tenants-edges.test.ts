/**
 * The tenants API's edges (docs/admin-api.md "Tenants"), every answer checked against the
 * published OpenAPI document: the document's tenant schema is the config file's own (its fields,
 * its IdP kinds, its secrets write-only) and agrees with the zod parse; ETag and If-Match make
 * concurrent replaces safe on SQLite and across two instances on Redis (412
 * precondition_failed); upper-case domains are stored lowered and a trailing dot is a 400 that
 * says how to write it; a stored tenant that stays unusable is logged once per version.
 */
import { describe, expect, it } from 'vitest';
import { tenantSchema } from '../../src/config/schema.js';
import { isSecretKey } from '../../src/tenants/secrets.js';
import { useTwoOnRedis } from '../helpers/on-redis.js';
import { AdminClient } from './openapi-check.js';
import { useAdminService } from './service.js';
import { baseFile, localTenant, startWithFile } from '../tenants/helpers.js';

type Json = Record<string, any>;

const oidcTenant = (id: string, domain: string, extra: Json = {}) => ({
  id,
  displayName: `OIDC ${id}`,
  domains: [domain],
  idp: { kind: 'oidc', issuer: `https://idp.${domain}`, clientId: `client-${id}`, clientSecret: 'edges-client-secret-8d21' },
  ...extra,
});

/** Every property name anywhere in a JSON Schema (after inlining). */
function propertyNames(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) v.forEach((x) => propertyNames(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Json)) {
      if (k === 'properties' && x && typeof x === 'object') Object.keys(x).forEach((p) => out.add(p));
      propertyNames(x, out);
    }
  }
  return out;
}

const admin = useAdminService(() => startWithFile(baseFile({ tenants: [localTenant('contoso', 'contoso.test', 'pw-contoso-1')] }), { tenantPollMs: 0 }));

describe('the OpenAPI document describes the tenant with the config file schema', () => {
  it('request and answer bodies name the tenant components, with every field, the IdP kinds and write-only secrets', () => {
    const schemas = admin.api.doc.components.schemas as Json;
    const body = (path: string, method: string) => admin.api.doc.paths[path][method].requestBody.content['application/json'].schema;
    expect(body('/tenants', 'post')).toEqual({ $ref: '#/components/schemas/TenantCreate' });
    expect(body('/tenants/{id}', 'put')).toEqual({ $ref: '#/components/schemas/TenantReplace' });
    const info = admin.api.doc.paths['/tenants/{id}'].get.responses['200'].content['application/json'].schema;
    expect(JSON.stringify(info)).toContain('#/components/schemas/Tenant"');

    for (const name of ['TenantCreate', 'TenantReplace', 'Tenant']) {
      const s = schemas[name];
      expect(Object.keys(s.properties).sort(), name).toEqual(['audience', 'branding', 'displayName', 'domains', 'id', 'idp', 'policy']);
      expect(s.additionalProperties, name).toBe(false);
      expect(s.required, name).toEqual(expect.arrayContaining(['id', 'displayName', 'domains', 'idp']));
      const kinds = (s.properties.idp.oneOf ?? s.properties.idp.anyOf).map((k: Json) => k.properties.kind.const);
      expect(kinds, name).toEqual(expect.arrayContaining(['local', 'oidc', 'saml']));
      expect(Object.keys(s.properties.branding.properties), name).toEqual(expect.arrayContaining(['logoUrl', 'primaryColor', 'supportEmail', 'strings']));
      expect(Object.keys(s.properties.policy.properties), name).toEqual(expect.arrayContaining(['requireMfa', 'allowedGroups', 'requireInvitation']));
    }
    const idpOf = (name: string, kind: string) => (schemas[name].properties.idp.oneOf ?? schemas[name].properties.idp.anyOf).find((k: Json) => k.properties.kind.const === kind);
    // create: the secrets are there, write-only, and a local user needs its hash.
    expect(idpOf('TenantCreate', 'oidc').properties.clientSecret.writeOnly).toBe(true);
    expect(idpOf('TenantCreate', 'local').properties.users.items.required).toContain('passwordHash');
    // replace: a secret left out is kept, null removes it.
    expect(idpOf('TenantReplace', 'local').properties.users.items.required).not.toContain('passwordHash');
    expect(idpOf('TenantReplace', 'oidc').properties.clientSecret).toMatchObject({ writeOnly: true, anyOf: expect.arrayContaining([{ type: 'null' }]) });
    // A write names no server file (src/tenants/validate.ts); answers may show a file tenant's.
    expect(Object.keys(idpOf('TenantCreate', 'saml').properties).filter((k) => /File$/.test(k))).toEqual([]);
    expect(Object.keys(idpOf('Tenant', 'saml').properties).filter((k) => /File$/.test(k))).not.toEqual([]);
    // answers: no secret anywhere.
    expect([...propertyNames(schemas.Tenant)].filter(isSecretKey)).toEqual([]);
    expect(schemas.Tenant.description).toMatch(/without its secrets/);
    expect(schemas.TenantCreate.description).toMatch(/cross-key rules/);
  });

  it('names ETag on answers, If-Match on replace and delete, and their 412', () => {
    const paths = admin.api.doc.paths as Json;
    for (const [path, method, status] of [['/tenants', 'post', '201'], ['/tenants/{id}', 'get', '200'], ['/tenants/{id}', 'put', '200']] as const) {
      expect(Object.keys(paths[path][method].responses[status].headers ?? {}), `${method} ${path}`).toEqual(['ETag']);
    }
    for (const method of ['put', 'delete']) {
      const op = paths['/tenants/{id}'][method];
      expect(op.parameters.filter((p: Json) => p.in === 'header').map((p: Json) => [p.name, p.required])).toEqual([['If-Match', false]]);
      expect(op.responses['412'].content['application/json'].schema).toBeDefined();
    }
  });

  it('Ajv on the document and the zod parse agree on valid and invalid tenants', () => {
    const createSchema = admin.api.doc.paths['/tenants'].post.requestBody.content['application/json'].schema;
    const validate = admin.api.validator('agreement TenantCreate', createSchema);
    const local = localTenant('agree', 'agree.test', 'pw-agree-1');
    const samples: Array<[string, unknown, boolean]> = [
      ['local tenant', local, true],
      ['oidc tenant with branding and policy', oidcTenant('agree2', 'agree2.test', { branding: { primaryColor: '#0067b8', supportEmail: 'help@agree2.test' }, policy: { requireMfa: true } }), true],
      ['upper-case domain (stored lowered)', { ...local, domains: ['Agree.TEST'] }, true],
      ['unknown top-level key', { ...local, hologram: true }, false],
      ['no domains', { ...local, domains: [] }, false],
      ['domain with a trailing dot', { ...local, domains: ['agree.test.'] }, false],
      ['unknown IdP kind', { ...local, idp: { kind: 'ldap', users: [] } }, false],
      ['local user without a hash', { ...local, idp: { kind: 'local', users: [{ upn: 'user@agree.test' }] } }, false],
      ['colour that is not hex', { ...local, branding: { primaryColor: 'red' } }, false],
      ['policy flag of the wrong type', { ...local, policy: { requireMfa: 'yes' } }, false],
      ['id with upper case', { ...local, id: 'Agree' }, false],
    ];
    for (const [what, sample, valid] of samples) {
      const zodOk = tenantSchema.safeParse(sample).success;
      const ajvOk = validate(sample) as boolean;
      expect({ what, zod: zodOk, ajv: ajvOk }).toEqual({ what, zod: valid, ajv: valid });
    }
  });
});

describe('ETag and If-Match (SQLite)', () => {
  it('GET gives the version as ETag; a write with a stale If-Match is 412 and changes nothing', async () => {
    const created = await admin.api.call('post', '/tenants', { body: oidcTenant('etag1', 'etag1.test') });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe('"1"');
    const got = await admin.api.call('get', '/tenants/{id}', { params: { id: 'etag1' } });
    expect(got.headers.get('etag')).toBe('"1"');
    // File tenants have no version, so no ETag.
    expect((await admin.api.call('get', '/tenants/{id}', { params: { id: 'contoso' } })).headers.get('etag')).toBeNull();

    const first = await admin.api.call('put', '/tenants/{id}', { params: { id: 'etag1' }, headers: { 'if-match': '"1"' }, body: { ...got.json.tenant, displayName: 'First' } });
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).toBe('"2"');
    for (const tag of ['"1"', 'W/"2"', '"x"', '"2" junk']) {
      const stale = await admin.api.call('put', '/tenants/{id}', { params: { id: 'etag1' }, headers: { 'if-match': tag }, body: { ...got.json.tenant, displayName: 'Stale' } });
      expect(stale.status, tag).toBe(412);
      expect(stale.json.error, tag).toBe('precondition_failed');
      expect(stale.text, tag).not.toContain('junk');
    }
    const gone = await admin.api.call('delete', '/tenants/{id}', { params: { id: 'etag1' }, headers: { 'if-match': '"1"' } });
    expect(gone.status).toBe(412);
    expect(gone.json.error).toBe('precondition_failed');
    const now = await admin.api.call('get', '/tenants/{id}', { params: { id: 'etag1' } });
    expect(now.json).toMatchObject({ version: 2, tenant: { displayName: 'First' } });
    // A list naming the current version, and `*`, match.
    expect((await admin.api.call('put', '/tenants/{id}', { params: { id: 'etag1' }, headers: { 'if-match': '"1", "2"' }, body: { ...got.json.tenant, displayName: 'Listed' } })).status).toBe(200);
    expect((await admin.api.call('put', '/tenants/{id}', { params: { id: 'etag1' }, headers: { 'if-match': '*' }, body: { ...got.json.tenant, displayName: 'Any' } })).status).toBe(200);
    // Without If-Match a write happens on any version (as before).
    expect((await admin.api.call('put', '/tenants/{id}', { params: { id: 'etag1' }, body: { ...got.json.tenant, displayName: 'Blind' } })).status).toBe(200);
    expect((await admin.api.call('delete', '/tenants/{id}', { params: { id: 'etag1' }, headers: { 'if-match': '"5"' } })).status).toBe(204);
  }, 60_000);

  it('two replaces with the same If-Match: exactly one 200, one 412', async () => {
    const created = await admin.api.call('post', '/tenants', { body: oidcTenant('race1', 'race1.test') });
    const tag = created.headers.get('etag')!;
    const put = (name: string) =>
      admin.api.call('put', '/tenants/{id}', { params: { id: 'race1' }, headers: { 'if-match': tag }, body: { ...created.json.tenant, displayName: name } });
    const answers = await Promise.all([put('Writer A'), put('Writer B')]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 412]);
    const winner = answers.find((a) => a.status === 200)!;
    const now = await admin.api.call('get', '/tenants/{id}', { params: { id: 'race1' } });
    expect(now.json).toMatchObject({ version: 2, tenant: { displayName: winner.json.tenant.displayName } });
  }, 60_000);
});

describe('domains', () => {
  it('upper case is stored lowered (and clashes as such); a trailing dot is a 400 saying how to write it', async () => {
    const created = await admin.api.call('post', '/tenants', { body: localTenant('upper', 'Upper-Case.TEST', 'pw-upper-1') });
    expect(created.status).toBe(201);
    expect(created.json.tenant.domains).toEqual(['upper-case.test']);
    expect((await admin.api.call('get', '/tenants/{id}', { params: { id: 'upper' } })).json.tenant.domains).toEqual(['upper-case.test']);
    expect((await admin.api.call('post', '/tenants', { body: oidcTenant('upper2', 'upper-case.test') })).status).toBe(409);

    const dotted = await admin.api.call('post', '/tenants', { body: oidcTenant('dotted', 'dotted.test.') });
    expect(dotted.status).toBe(400);
    const problem = dotted.json.errors.find((e: Json) => e.path === 'body.domains[0]');
    expect(problem.message).toMatch(/no trailing dot/);
    expect(problem.message).toMatch(/like contoso\.com/);
    expect(dotted.text).not.toContain('dotted.test.');
    // The configuration file refuses it too (docs/configuration.md): same rule, same schema.
    expect(tenantSchema.safeParse(oidcTenant('dotted', 'dotted.test.')).success).toBe(false);
  }, 60_000);
});

it('a stored tenant that stays unusable is logged once per version, not at every rebuild', async () => {
  const store = admin.svc.service.deps.store;
  const dir = admin.svc.service.deps.directory;
  const broken = { ...localTenant('broken', 'broken.test', 'pw-broken-1'), hologram: true };
  expect(await store.createTenant({ id: 'broken', doc: broken, domains: ['broken.test'] }, Date.now())).toBe('ok');
  const logged = () => admin.svc.logs.filter((l) => String(l.msg).startsWith('store tenant broken skipped')).length;
  await dir.refresh();
  expect(logged()).toBe(1);
  // Other changes rebuild the snapshot: a logo upload, another tenant.
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  for (let i = 0; i < 3; i++) {
    expect((await admin.api.call('put', '/tenants/{id}/logo', { params: { id: 'contoso' }, raw: { contentType: 'image/png', bytes: png } })).status).toBe(200);
  }
  expect((await admin.api.call('post', '/tenants', { body: oidcTenant('other1', 'other1.test') })).status).toBe(201);
  await dir.refresh();
  expect(logged()).toBe(1);
  // A new version that is still unusable is a new fact: logged once more.
  expect(await store.updateTenant({ id: 'broken', doc: { ...broken, displayName: 'Still broken' }, domains: ['broken.test'] }, Date.now())).toBe('ok');
  await dir.refresh();
  expect(logged()).toBe(2);
  expect((await admin.api.call('delete', '/tenants/{id}', { params: { id: 'other1' } })).status).toBe(204);
  expect(logged()).toBe(2);
  expect(await store.deleteTenant('broken')).toBe(true);
}, 60_000);

describe('If-Match across two instances sharing Redis', () => {
  const two = useTwoOnRedis((url) => startWithFile(baseFile({ store: { kind: 'redis', url } })));

  it('replaces on A and on B with the same If-Match: exactly one 200, one 412; a stale delete is 412', async () => {
    const apiA = await AdminClient.open(two.a.url);
    const apiB = await AdminClient.open(two.b.url);
    const created = await apiA.call('post', '/tenants', { body: oidcTenant('shared', 'shared.test') });
    expect(created.status).toBe(201);
    const tag = created.headers.get('etag')!;
    expect(tag).toBe('"1"');
    const put = (api: AdminClient, name: string) =>
      api.call('put', '/tenants/{id}', { params: { id: 'shared' }, headers: { 'if-match': tag }, body: { ...created.json.tenant, displayName: name } });
    for (let round = 0; round < 3; round++) {
      // The store's version (an instance's snapshot may not have seen the other's write yet).
      const version = (await two.a.service.deps.store.listTenants()).find((t) => t.id === 'shared')!.version;
      expect(version).toBe(round + 1);
      const current = `"${version}"`;
      const answers = await Promise.all(
        [apiA, apiB].map((api, i) =>
          api.call('put', '/tenants/{id}', { params: { id: 'shared' }, headers: { 'if-match': current }, body: { ...created.json.tenant, displayName: `Round ${round} ${i}` } }),
        ),
      );
      expect(answers.map((x) => x.status).sort(), `round ${round}`).toEqual([200, 412]);
      expect(answers.find((x) => x.status === 412)!.json.error).toBe('precondition_failed');
    }
    expect((await put(apiB, 'stale')).status).toBe(412);
    expect((await apiB.call('delete', '/tenants/{id}', { params: { id: 'shared' }, headers: { 'if-match': tag } })).status).toBe(412);
    expect((await apiB.call('delete', '/tenants/{id}', { params: { id: 'shared' }, headers: { 'if-match': '"4"' } })).status).toBe(204);
  }, 90_000);
});
