/**
 * `config check` refuses what would fail later (issue #10): placeholders copied from an example,
 * password hashes that are not complete scrypt hashes, an empty file, a tenant nobody can sign
 * in to; and warns (exit 0) on secrets written inline. The README's own example fails on its
 * placeholders and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { isCompletePasswordHash } from '../../src/upstreams/local/config.js';
import { run } from '../cli/run.js';

const HASH = hashPasswordSync('pw');
const ENV = { MDM_SECRET: 'mdm-secret-0123456789abcdef', IDP_SECRET: 'idp-secret-0123456789' };
let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fedbridge-check-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(content: string | Record<string, unknown>): string {
  const file = join(dir, `c${++n}.yaml`);
  writeFileSync(file, typeof content === 'string' ? content : stringify(content));
  return file;
}

const check = (content: string | Record<string, unknown>, env: Record<string, string> = ENV) => run(['config', 'check', '--config', write(content)], { env });

/** The problem lines of a refused file: `  - path: message`. */
const problemLines = (err: string) => err.split('\n').filter((l) => l.startsWith('  - ')).map((l) => l.slice(4));

const oidc = (extra: Record<string, unknown> = {}) => ({
  kind: 'oidc',
  issuer: 'https://login.microsoftonline.com/2f5a8c61-0c1d-4c4e-9a57-3c6c7c0d9e01/v2.0',
  clientId: '7d1c2b9e-63a4-4a8e-9f0e-5b8a0c1d2e3f',
  clientSecret: '${IDP_SECRET}',
  ...extra,
});
const file = (tenants: unknown[], extra: Record<string, unknown> = {}) => ({
  server: { publicUrl: 'https://auth.contoso.com' },
  enrollmentServers: [{ id: 'mdm', secret: '${MDM_SECRET}' }],
  tenants,
  ...extra,
});
const tenant = (idp: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ id: 'contoso', displayName: 'Contoso', domains: ['contoso.com'], idp, ...extra });
const local = (...users: Array<Record<string, unknown>>) => ({ kind: 'local', users });

describe('placeholders', () => {
  it('a clean file passes with no warning', async () => {
    expect(await check(file([tenant(oidc())]))).toMatchObject({ code: 0, err: '' });
  });

  it.each([
    ['issuer', { issuer: 'https://login.microsoftonline.com/<tenant-id>/v2.0' }, 'tenants[0].idp.issuer: <tenant-id> is a placeholder'],
    ['clientId', { clientId: '<application-id>' }, 'tenants[0].idp.clientId: <application-id> is a placeholder'],
    ['clientId ...', { clientId: '...' }, 'tenants[0].idp.clientId: ... is a placeholder'],
    ['clientId …', { clientId: '…' }, 'tenants[0].idp.clientId: … is a placeholder'],
    ['domainHint', { domainHint: 'changeme' }, 'tenants[0].idp.domainHint: changeme is a placeholder'],
    ['clientSecret', { clientSecret: 'CHANGEME' }, 'tenants[0].idp.clientSecret: a "changeme" value is a placeholder'],
    ['clientSecret <…>', { clientSecret: '<client-secret>' }, 'tenants[0].idp.clientSecret: a <…> value is a placeholder'],
  ])('%s → exit 1 with its path', async (_name, over, line) => {
    const r = await check(file([tenant(oidc(over))]));
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(problemLines(r.err)).toEqual([`${line}: write the real value here`]);
  });

  it('a placeholder that arrives through ${ENV} is refused too', async () => {
    const r = await check(file([tenant(oidc())]), { ...ENV, IDP_SECRET: 'changeme' });
    expect(problemLines(r.err)).toEqual(['tenants[0].idp.clientSecret: a "changeme" value is a placeholder: write the real value here']);
  });

  it('a secret that merely contains dots or brackets is a secret, and prose keeps its dots', async () => {
    const r = await check(
      file([tenant(oidc(), { displayName: 'Contoso <EU>...', branding: { signInText: 'Use your <work> account...' } })], {
        admin: { token: '${ADMIN}' },
      }),
      { ...ENV, IDP_SECRET: 'a.b...c<d>e~f', ADMIN: 'x...<y>'.repeat(4) },
    );
    expect(r).toMatchObject({ code: 0, err: '' });
  });

  it('the placeholder is not also reported as what it breaks (one line per path)', async () => {
    const r = await check(file([tenant(local({ upn: 'ann@contoso.com', passwordHash: 'scrypt$…' }))]));
    expect(problemLines(r.err)).toEqual(['tenants[0].idp.users[0].passwordHash: … is a placeholder: write the real value here']);
  });
});

describe('password hashes', () => {
  const parts = HASH.split('$');
  const withParts = (i: number, v: string) => parts.map((p, j) => (j === i ? v : p)).join('$');

  it.each([
    ['a password, not a hash', 'hunter2'],
    ['cut off at the end', HASH.slice(0, -10)],
    ['the key missing', parts.slice(0, 5).join('$')],
    ['a short salt', withParts(4, 'c2FsdA')],
    ['not base64url in the key', withParts(5, `${parts[5].slice(0, -1)}=`)],
    ['N not a power of two (scrypt would throw at sign-in)', withParts(1, '16000')],
    ['N whose memory scrypt refuses (64 MiB)', withParts(1, String(1 << 16))],
    ['p beyond 16', withParts(3, '64')],
  ])('%s → refused', async (_name, hash) => {
    expect(isCompletePasswordHash(hash)).toBe(false);
    const r = await check(file([tenant(local({ upn: 'ann@contoso.com', passwordHash: hash }))]));
    expect(r.code).toBe(1);
    expect(problemLines(r.err)).toEqual([expect.stringMatching(/^tenants\[0\]\.idp\.users\[0\]\.passwordHash: (must be a complete hash from `fedbridge user hash-password`|.* is a placeholder)/)]);
  });

  it('what `fedbridge user hash-password` prints is complete', async () => {
    const printed = (await run(['user', 'hash-password'], { stdin: 'pw\n' })).out.trim();
    expect(isCompletePasswordHash(printed)).toBe(true);
    expect(isCompletePasswordHash(withParts(1, String(1 << 15)))).toBe(true);
  });
});

describe('files and tenants that could never sign anyone in', () => {
  it.each([['empty', ''], ['comments only', '# fedbridge\n# todo\n'], ['an empty document', '---\n']])('%s file → exit 1', async (_n, text) => {
    const r = await check(text);
    expect(r.code).toBe(1);
    expect(problemLines(r.err)).toEqual([expect.stringMatching(/^\(root\): \S+ is empty; write the configuration/)]);
  });

  it('a local tenant none of whose users is in its domains', async () => {
    const r = await check(file([tenant(local({ upn: 'ann@fabrikam.com', passwordHash: HASH }, { upn: 'admin', passwordHash: HASH }))]));
    expect(r.code).toBe(1);
    expect(problemLines(r.err)).toEqual(["tenants[0].idp.users: no user can sign in: none has a user name in the tenant's domains (contoso.com)"]);
    // One user in the domain is enough (the others are warnings).
    const ok = await check(file([tenant(local({ upn: 'ann@fabrikam.com', passwordHash: HASH }, { upn: 'bob@contoso.com', passwordHash: HASH }))]));
    expect(ok.code).toBe(0);
    expect(ok.err).toContain('warning: tenants[0].idp.users[0].upn: fabrikam.com');
    // allowForeignDomains lets them in.
    const foreign = await check(file([tenant(local({ upn: 'ann@fabrikam.com', passwordHash: HASH }), { policy: { allowForeignDomains: true } })]));
    expect(foreign.code).toBe(0);
  });

  it('a local tenant whose allowedGroups no user is in', async () => {
    const users = local({ upn: 'ann@contoso.com', passwordHash: HASH, groups: ['staff'] }, { upn: 'fabian@fabrikam.com', passwordHash: HASH, groups: ['admins'] });
    const r = await check(file([tenant(users, { policy: { allowedGroups: ['admins'] } })]));
    expect(problemLines(r.err)).toEqual(['tenants[0].policy.allowedGroups: no user can sign in: no local user of the tenant is in admins']);
    expect((await check(file([tenant(users, { policy: { allowedGroups: ['staff', 'admins'] } })]))).code).toBe(0);
  });
});

describe('secrets written inline: a warning, exit 0', () => {
  it('clientSecret, enrollmentServers[].secret, admin.token, metrics.token', async () => {
    const r = await check({
      server: { publicUrl: 'https://auth.contoso.com' },
      enrollmentServers: [{ id: 'mdm', secret: 'mdm-secret-0123456789abcdef' }, { id: 'other', secret: '${MDM_SECRET}' }],
      admin: { token: 'admin-token-0123456789' },
      metrics: { token: 'metrics-token-0123456789' },
      tenants: [tenant(oidc({ clientSecret: 'idp-secret-0123456789' }))],
    });
    expect(r.code).toBe(0);
    const warnings = r.err.trim().split('\n');
    const tail = ': secret written inline; write it as "${ENV_NAME}" and set that variable, so the file holds no secret';
    expect(warnings).toEqual([
      `warning: enrollmentServers[0].secret${tail}`,
      `warning: admin.token${tail}`,
      `warning: metrics.token${tail}`,
      `warning: tenants[0].idp.clientSecret${tail}`,
    ]);
    // The warning never carries the secret.
    expect(r.err).not.toMatch(/0123456789/);
  });

  it("store.password (Redis Sentinel or Cluster) too; written as ${ENV} it is not warned about", async () => {
    const store = (password: string) => ({ kind: 'redis', cluster: ['127.0.0.1:7000'], password });
    const inline = await check(file([tenant(oidc())], { store: store('redis-password-42') }));
    expect(inline.code).toBe(0);
    expect(inline.err).toContain('warning: store.password: secret written inline');
    expect(inline.err).not.toContain('redis-password-42');
    expect(await check(file([tenant(oidc())], { store: store('${IDP_SECRET}') }))).toMatchObject({ code: 0, err: '' });
  });
});

describe("the README's configuration example", () => {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const block = /^## Configuration\n[\s\S]*?^```yaml\n([\s\S]*?)^```/m.exec(readme)?.[1];
  const env = { MDM_INTROSPECT_SECRET: 'x'.repeat(32), FEDBRIDGE_ADMIN_TOKEN: 'y'.repeat(32), FEDBRIDGE_METRICS_TOKEN: 'z'.repeat(32), CONTOSO_SECRET: 's3cret' };

  it('fails config check on its placeholders and on nothing else', async () => {
    expect(block).toBeTruthy();
    const r = await check(block!, env);
    expect(r.code).toBe(1);
    expect(problemLines(r.err)).toEqual([
      'tenants[0].idp.issuer: <tenant-id> is a placeholder: write the real value here',
      'tenants[0].idp.clientId: <application-id> is a placeholder: write the real value here',
      'tenants[1].idp.users[0].passwordHash: … is a placeholder: write the real value here',
    ]);
  });

  it('passes once the placeholders are replaced by real values', async () => {
    const filled = block!
      .replace('<tenant-id>', '2f5a8c61-0c1d-4c4e-9a57-3c6c7c0d9e01')
      .replace('<application-id>', '7d1c2b9e-63a4-4a8e-9f0e-5b8a0c1d2e3f')
      .replace('"scrypt$…"', `"${HASH}"`);
    const r = await check(filled, env);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain('2 tenant(s), issuer https://auth.contoso.com');
  });
});
