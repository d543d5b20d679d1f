/**
 * Attacks on hot reload (docs/operations.md "Hot reload"): a config file caught half-written,
 * removed, swapped for a symlink (to a good file, to a folder), and a store tenant created while
 * the file is reloaded with a tenant claiming the same domain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ADMIN_TOKEN, baseFile, localTenant, startWithFile, type Running } from '../tenants/helpers.js';

let svc: Running;
const tenants = () => [localTenant('contoso', 'contoso.test', 'pw-contoso-1'), localTenant('fabrikam', 'fabrikam.test', 'pw-fabrikam-1')];

beforeAll(async () => {
  svc = await startWithFile(baseFile({ tenants: tenants() }), { tenantPollMs: 0 });
}, 60_000);
afterAll(async () => {
  await svc?.close();
});

const ids = () => [...svc.service.deps.directory.current().tenants.keys()].sort();
const text = (file: Record<string, unknown>) => stringify(file).replaceAll('{{PORT}}', String(svc.port)).replaceAll('{{DIR}}', svc.dir);

describe('a config file that is not (yet) a good one', () => {
  it('half-written (cut mid-value): refused, the running tenants and admin token stay', async () => {
    const full = text(baseFile({ tenants: [...tenants(), localTenant('newco', 'newco.test', 'pw-newco-1')] }));
    const before = ids();
    for (const cut of [full.indexOf('newco') + 3, Math.floor(full.length / 2), full.indexOf('passwordHash') + 20]) {
      writeFileSync(svc.file, full.slice(0, cut));
      const r = await svc.service.deps.directory.reloadFile();
      expect(r.ok, `cut at ${cut}`).toBe(false);
      expect(ids()).toEqual(before);
    }
    const api = await fetch(`${svc.url}/admin/api/v1/tenants`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(api.status).toBe(200);
    // Finished: taken.
    writeFileSync(svc.file, full);
    expect(await svc.service.deps.directory.reloadFile()).toEqual({ ok: true });
    expect(ids()).toContain('newco');
  });

  it('removed, or replaced by a symlink to a folder or to nothing: refused and kept', async () => {
    const before = ids();
    const saved = readFileSync(svc.file);
    rmSync(svc.file);
    expect((await svc.service.deps.directory.reloadFile()).ok).toBe(false);
    const folder = join(svc.dir, 'a-folder');
    mkdirSync(folder, { recursive: true });
    symlinkSync(folder, svc.file);
    expect((await svc.service.deps.directory.reloadFile()).ok).toBe(false);
    rmSync(svc.file);
    symlinkSync(join(svc.dir, 'missing.yaml'), svc.file);
    expect((await svc.service.deps.directory.reloadFile()).ok).toBe(false);
    expect(ids()).toEqual(before);
    // Swapped to a symlink to a good file (as Kubernetes does): taken.
    rmSync(svc.file);
    const real = join(svc.dir, 'real.yaml');
    writeFileSync(real, saved);
    const next = join(svc.dir, 'next.yaml');
    symlinkSync(real, next);
    renameSync(next, svc.file);
    expect(await svc.service.deps.directory.reloadFile()).toEqual({ ok: true });
    expect(ids()).toEqual(before);
  });
});

describe('a file reload racing a store tenant for one domain', () => {
  it('ends with one owner of the domain, the file tenant', async () => {
    const filePlus = text(baseFile({ tenants: [...tenants(), localTenant('fileowner', 'contested.test', 'pw-fileowner-1')] }));
    const create = fetch(`${svc.url}/admin/api/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(localTenant('storeowner', 'contested.test', 'pw-storeowner-1')),
    });
    writeFileSync(svc.file, filePlus);
    const [res, reload] = await Promise.all([create, svc.service.deps.directory.reloadFile()]);
    expect([201, 409]).toContain(res.status);
    expect(reload).toEqual({ ok: true });
    await svc.service.deps.directory.refresh();
    const owners = [...svc.service.deps.directory.current().tenants.values()].filter((e) => e.config.domains.includes('contested.test'));
    expect(owners.map((e) => [e.config.id, e.source])).toEqual([['fileowner', 'file']]);
  });
});

describe('an admin token changed in the file', () => {
  it('the old bearer token is refused at once after the reload, the new one works', async () => {
    const NEW = 'reloaded-admin-token-0123456789abcdef';
    const before = await fetch(`${svc.url}/admin/api/v1/tenants`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(before.status).toBe(200);
    writeFileSync(svc.file, text({ ...baseFile({ tenants: tenants() }), admin: { token: NEW } }));
    expect(await svc.service.deps.directory.reloadFile()).toEqual({ ok: true });
    const old = await fetch(`${svc.url}/admin/api/v1/tenants`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(old.status).toBe(401);
    const now = await fetch(`${svc.url}/admin/api/v1/tenants`, { headers: { authorization: `Bearer ${NEW}` } });
    expect(now.status).toBe(200);
    // The token is never logged, neither the old nor the new.
    expect(JSON.stringify(svc.logs)).not.toContain(NEW);
    expect(JSON.stringify(svc.logs)).not.toContain(ADMIN_TOKEN);
  });
});
