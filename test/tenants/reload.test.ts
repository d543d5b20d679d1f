/**
 * Hot reload of the config file (docs/operations.md "Hot reload"): a good file is swapped in
 * whole, without dropping a sign-in in progress; a bad one is refused with every problem logged
 * and the running configuration stays; restart-only settings keep their running values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hiddenValue, signIn } from '../helpers/html.js';
import { watchConfigFile } from '../../src/tenants/reload.js';
import { APPRU, baseFile, eventually, localTenant, startWithFile, type Running } from './helpers.js';

let svc: Running;
const contoso = localTenant('contoso', 'contoso.test', 'pw-contoso-1');
const fabrikam = localTenant('fabrikam', 'fabrikam.test', 'pw-fabrikam-1');

beforeAll(async () => {
  svc = await startWithFile(baseFile({ tenants: [contoso] }), { tenantPollMs: 0, upstreamGraceMs: 60_000 });
}, 60_000);
afterAll(async () => {
  await svc?.close();
});

const dir = () => svc.service.deps.directory;
const messages = () => svc.logs.map((l) => String(l.msg));

describe('reloadFile', () => {
  it('swaps a good file in whole: new tenants and settings, and a sign-in begun before finishes after', async () => {
    // A sign-in waiting on the password page across the reload.
    const first = await fetch(`${svc.url}/auth?appru=${encodeURIComponent(APPRU)}&login_hint=user%40contoso.test`);
    const state = hiddenValue(await first.text(), 'state')!;
    expect(state).toBeTruthy();
    const before = dir().current().generation;

    svc.write(baseFile({ tokens: { ttlSeconds: 300 }, tenants: [{ ...contoso, displayName: 'Contoso Renamed' }, fabrikam] }));
    expect(await dir().reloadFile()).toEqual({ ok: true });
    expect(dir().current().generation).toBeGreaterThan(before);
    expect(svc.service.deps.config.tokens.ttlSeconds).toBe(300);
    expect(messages()).toContain('configuration reloaded');

    const done = await fetch(`${svc.url}/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ state, username: 'user@contoso.test', password: 'pw-contoso-1' }),
    });
    const html = await done.text();
    const token = hiddenValue(html, 'wresult');
    expect(token).toBeTruthy();
    const claims = JSON.parse(Buffer.from(token!.split('.')[1], 'base64url').toString());
    // The new settings apply to what is minted after the swap.
    expect(claims.exp - claims.iat).toBe(300);

    const viaNew = await signIn(svc.url, { appru: APPRU, hint: 'user@fabrikam.test', user: 'user@fabrikam.test', password: 'pw-fabrikam-1' });
    expect(viaNew.token).toBeTruthy();
  }, 60_000);

  it('refuses a bad file, logging every problem, and keeps running the configuration it had', async () => {
    const running = dir().current();
    svc.write(
      baseFile({
        tenants: [
          { ...contoso, domains: ['not a domain'], colour: 'red' },
          { ...fabrikam, domains: ['contoso.test'] },
          { id: 'o1', displayName: 'O', domains: ['o1.test'], idp: { kind: 'oidc', issuer: 'https://idp.o1.test', clientId: 'x' } },
        ],
      }),
    );
    const r = await dir().reloadFile();
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    for (const p of ['tenants[0].domains[0]', 'tenants[0].colour: unknown key', 'tenants[2].idp.clientSecret: required']) {
      expect(problems.some((x) => x.startsWith(p))).toBe(true);
      expect(messages().some((m) => m.startsWith('configuration reload refused') && m.includes(p))).toBe(true);
    }
    expect(dir().current()).toBe(running);
    const still = await signIn(svc.url, { appru: APPRU, hint: 'user@fabrikam.test', user: 'user@fabrikam.test', password: 'pw-fabrikam-1' });
    expect(still.token).toBeTruthy();

    // A file that cannot be parsed at all is refused the same way.
    writeFileSync(svc.file, 'tenants: [ {');
    const unparsable = await dir().reloadFile();
    expect(unparsable.ok).toBe(false);
    expect(dir().current()).toBe(running);
  }, 60_000);

  it('logs restart-only settings as needing a restart and keeps their running values', async () => {
    const running = svc.service.deps.config;
    svc.write(baseFile({ server: { publicUrl: 'http://127.0.0.1:{{PORT}}', port: 1 }, store: { kind: 'sqlite', path: '{{DIR}}/other.sqlite' }, keys: { dir: '{{DIR}}/otherkeys' }, tenants: [contoso, fabrikam] }));
    expect(await dir().reloadFile()).toEqual({ ok: true });
    const now = svc.service.deps.config;
    expect(now.server.port).toBe(running.server.port);
    expect(now.store).toEqual(running.store);
    expect(now.keys).toEqual(running.keys);
    for (const s of ['server.port', 'store', 'keys']) {
      expect(messages()).toContain(`configuration reload: ${s} changed in the file, but needs a restart; the running value stays`);
    }
    const ok = await signIn(svc.url, { appru: APPRU, hint: 'user@contoso.test', user: 'user@contoso.test', password: 'pw-contoso-1' });
    expect(ok.token).toBeTruthy();
  }, 60_000);

  it('a store tenant whose domain a reloaded file takes is skipped and logged; the file tenant wins', async () => {
    await dir().create(localTenant('stored', 'stored.test', 'pw-stored-12'), Date.now());
    svc.write(baseFile({ tenants: [contoso, fabrikam, localTenant('filewins', 'stored.test', 'pw-filewins1')] }));
    expect(await dir().reloadFile()).toEqual({ ok: true });
    expect(dir().current().tenants.has('stored')).toBe(false);
    expect(messages().some((m) => m.startsWith('store tenant stored skipped: domain stored.test belongs to tenant filewins'))).toBe(true);
    svc.write(baseFile({ tenants: [contoso, fabrikam] }));
    expect(await dir().reloadFile()).toEqual({ ok: true });
    expect(dir().current().tenants.get('stored')?.source).toBe('store');
  }, 60_000);
});

describe('watchConfigFile', () => {
  it('calls back when the content changes (written, or replaced by a rename), not for other files or the same content', async () => {
    let calls = 0;
    const w = watchConfigFile(svc.file, () => calls++, 100);
    try {
      writeFileSync(join(svc.dir, 'unrelated.txt'), 'x');
      writeFileSync(svc.file, readFileSync(svc.file)); // touched, not changed
      await new Promise((r) => setTimeout(r, 600));
      expect(calls).toBe(0);
      for (let i = 0; i < 5; i++) writeFileSync(svc.file, `# edit ${i}\n`);
      expect(await eventually(async () => calls >= 1, 10_000)).toBe(true);
      await new Promise((r) => setTimeout(r, 500));
      const before = calls;
      const tmp = join(svc.dir, 'config.yaml.new');
      writeFileSync(tmp, '# replaced\n');
      renameSync(tmp, svc.file);
      expect(await eventually(async () => calls > before, 10_000)).toBe(true);
    } finally {
      w.close();
    }
  }, 30_000);

  it('sees a Kubernetes-style update: the file is a symlink through ..data, and ..data is swapped', async () => {
    const root = mkdtempSync(join(tmpdir(), 'fedbridge-k8s-'));
    try {
      mkdirSync(join(root, 'v1'));
      mkdirSync(join(root, 'v2'));
      writeFileSync(join(root, 'v1', 'config.yaml'), '# v1\n');
      writeFileSync(join(root, 'v2', 'config.yaml'), '# v2\n');
      symlinkSync('v1', join(root, '..data'));
      symlinkSync(join('..data', 'config.yaml'), join(root, 'config.yaml'));
      let calls = 0;
      const w = watchConfigFile(join(root, 'config.yaml'), () => calls++, 100);
      try {
        symlinkSync('v2', join(root, '..data_tmp'));
        renameSync(join(root, '..data_tmp'), join(root, '..data'));
        expect(await eventually(async () => calls >= 1, 10_000)).toBe(true);
      } finally {
        w.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 30_000);
});
