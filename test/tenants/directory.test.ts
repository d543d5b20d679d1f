/**
 * The tenant directory inside a running service (SQLite store): store tenants sign people in
 * like file tenants, every conflict is a 409, secrets never come back, and a stored tenant this
 * version cannot read is skipped without harm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../helpers/html.js';
import { APPRU, baseFile, hashOf, localTenant, startWithFile, type Running } from './helpers.js';
import { refusal } from '../helpers/refusal.js';

let svc: Running;

beforeAll(async () => {
  svc = await startWithFile(baseFile({ tenants: [localTenant('contoso', 'contoso.test', 'pw-contoso-1')] }), { tenantPollMs: 0, upstreamGraceMs: 50 });
}, 60_000);
afterAll(async () => {
  await svc?.close();
});

const dir = () => svc.service.deps.directory;
const now = () => Date.now();

describe('store tenants', () => {
  it('a tenant created in the store signs its user in at once; removing it stops sign-ins', async () => {
    const before = dir().current().generation;
    const entry = await dir().create(localTenant('fabrikam', 'fabrikam.test', 'pw-fabrikam-1'), now());
    expect(entry).toMatchObject({ source: 'store', version: 1 });
    expect(dir().current().generation).toBeGreaterThan(before);
    expect(dir().current().config.tenants.map((t) => t.id)).toEqual(['contoso', 'fabrikam']);

    const ok = await signIn(svc.url, { appru: APPRU, hint: 'user@fabrikam.test', user: 'user@fabrikam.test', password: 'pw-fabrikam-1' });
    expect(ok.token).toBeTruthy();
    const claims = JSON.parse(Buffer.from(ok.token!.split('.')[1], 'base64url').toString());
    expect(claims.tid).toBe('fabrikam');

    await dir().remove('fabrikam');
    expect(dir().current().tenants.has('fabrikam')).toBe(false);
    const after = await signIn(svc.url, { appru: APPRU, hint: 'user@fabrikam.test', user: 'user@fabrikam.test', password: 'pw-fabrikam-1' });
    expect(after.token).toBeNull();
  }, 60_000);

  it('refuses with 409 conflict: a file tenant id or domain, a config-file tenant changed, a store id or domain taken', async () => {
    expect(await refusal(dir().create(localTenant('contoso', 'other.test', 'pw-x-123456'), now()))).toMatchObject({ status: 409, code: 'conflict' });
    expect(await refusal(dir().create(localTenant('newco', 'contoso.test', 'pw-x-123456'), now()))).toMatchObject({ status: 409, code: 'conflict' });
    expect(await refusal(dir().replace('contoso', localTenant('contoso', 'contoso.test', 'pw-x-123456'), now()))).toMatchObject({ status: 409, code: 'conflict' });
    expect(await refusal(dir().remove('contoso'))).toMatchObject({ status: 409, code: 'conflict' });

    await dir().create(localTenant('alpha', 'alpha.test', 'pw-alpha-12'), now());
    expect(await refusal(dir().create(localTenant('alpha', 'alpha2.test', 'pw-alpha-12'), now()))).toMatchObject({ status: 409, code: 'conflict' });
    const clash = await refusal(dir().create(localTenant('beta', 'alpha.test', 'pw-alpha-12'), now()));
    expect(clash).toMatchObject({ status: 409, code: 'conflict' });
    expect(clash.message).toContain('alpha');
    await dir().create(localTenant('beta', 'beta.test', 'pw-beta-123'), now());
    expect(await refusal(dir().replace('beta', localTenant('beta', 'alpha.test', 'pw-beta-123'), now()))).toMatchObject({ status: 409, code: 'conflict' });
    // Nothing of the refused writes stuck.
    expect(dir().current().tenants.get('beta')?.config.domains).toEqual(['beta.test']);
    expect(await refusal(dir().replace('nobody', localTenant('nobody', 'nobody.test', 'pw-x-123456'), now()))).toMatchObject({ status: 404, code: 'unknown_tenant' });
    expect(await refusal(dir().remove('nobody'))).toMatchObject({ status: 404, code: 'unknown_tenant' });
    await dir().remove('alpha');
    await dir().remove('beta');
  }, 60_000);

  it('lists every field problem with its path relative to the tenant', async () => {
    const err = await refusal(
      dir().create({ id: 'Bad Id', displayName: '', domains: ['not a domain'], colour: 'red', idp: { kind: 'oidc', issuer: 'https://idp.example', clientId: 'x' } }, now()),
    );
    expect(err).toMatchObject({ status: 400, code: 'invalid_request' });
    for (const path of ['id:', 'displayName:', 'domains[0]:', 'colour: unknown key', 'idp.clientSecret:']) expect(err.message).toContain(path);
    const kind = await refusal(dir().create({ id: 'k', displayName: 'K', domains: ['k.test'], idp: { kind: 'kerberos' } }, now()));
    expect(kind.message).toContain('idp.kind: kerberos is not available');
  });

  it('never shows a secret; a replace that leaves a secret out keeps it; null removes an optional one', async () => {
    const oidc = {
      id: 'sec',
      displayName: 'Sec',
      domains: ['sec.test'],
      idp: { kind: 'oidc', issuer: 'https://idp.sec.test', clientId: 'client-1', clientSecret: 'very-secret-value-1', tokenEndpointAuthMethod: 'client_secret_basic' },
    };
    await dir().create(oidc, now());
    const shown = JSON.stringify(dir().publicDoc('sec'));
    expect(shown).not.toContain('very-secret-value-1');
    expect(shown).toContain('client-1');
    // Settings named near a secret are still shown.
    expect(dir().publicDoc('sec')).toMatchObject({ idp: { tokenEndpointAuthMethod: 'client_secret_basic' } });

    const { clientSecret: _dropped, ...idpWithout } = oidc.idp;
    const replaced = await dir().replace('sec', { ...oidc, displayName: 'Sec 2', idp: { ...idpWithout, clientId: 'client-2' } }, now());
    expect(replaced.version).toBe(2);
    const idp = dir().current().tenants.get('sec')!.config.idp as { clientSecret?: string; clientId: string };
    expect(idp).toMatchObject({ clientId: 'client-2', clientSecret: 'very-secret-value-1' });

    // Dropping the secret the only way there is: null, and then the kind's rule requires one.
    const dropped = await refusal(dir().replace('sec', { ...oidc, idp: { ...oidc.idp, clientSecret: null } }, now()));
    expect(dropped.message).toContain('idp.clientSecret: required');
    await dir().remove('sec');

    await dir().create(localTenant('loc', 'loc.test', 'pw-local-123'), now());
    const local = dir().publicDoc('loc')!;
    expect(JSON.stringify(local)).not.toContain(hashOf('pw-local-123'));
    // The user as shown (no hash) goes back unchanged: the hash is kept, so the password still works.
    await dir().replace('loc', { ...local, displayName: 'Loc renamed' }, now());
    const ok = await signIn(svc.url, { appru: APPRU, hint: 'user@loc.test', user: 'user@loc.test', password: 'pw-local-123' });
    expect(ok.token).toBeTruthy();
    // File tenants' secrets are not shown either.
    expect(JSON.stringify(dir().publicDoc('contoso'))).not.toContain(hashOf('pw-contoso-1'));
    await dir().remove('loc');
  }, 60_000);

  it('a stored tenant this version cannot read is logged and skipped; the others keep working', async () => {
    const store = svc.service.deps.store;
    // As a newer version might write it: a key this version does not know.
    expect(await store.createTenant({ id: 'future', doc: { ...localTenant('future', 'future.test', 'pw-future-1'), hologram: true }, domains: ['future.test'] }, now())).toBe('ok');
    await dir().refresh();
    expect(dir().current().tenants.has('future')).toBe(false);
    expect(svc.logs.some((l) => String(l.msg).includes('store tenant future skipped') && String(l.msg).includes('hologram: unknown key'))).toBe(true);
    const ok = await signIn(svc.url, { appru: APPRU, hint: 'user@contoso.test', user: 'user@contoso.test', password: 'pw-contoso-1' });
    expect(ok.token).toBeTruthy();
    expect(await store.deleteTenant('future')).toBe(true);
  }, 60_000);

  it('a replaced upstream is closed only after the grace period', async () => {
    await dir().create(localTenant('grace', 'grace.test', 'pw-grace-123'), now());
    const old = dir().current().upstreams.get('grace')!;
    const held = dir().current();
    let closed = false;
    const close = old.close?.bind(old);
    Object.assign(old, { close: () => ((closed = true), close?.()) });
    await dir().replace('grace', localTenant('grace', 'grace.test', 'pw-grace-456'), now());
    expect(dir().current().upstreams.get('grace')).not.toBe(old);
    // The request that took the old snapshot still has its upstream, open.
    expect(held.upstreams.get('grace')).toBe(old);
    expect(closed).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(closed).toBe(true);
    await dir().remove('grace');
  }, 60_000);
});
