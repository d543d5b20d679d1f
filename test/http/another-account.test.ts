/**
 * "Use another account" (issue #10): the password page names who is signing in and offers a
 * way back to the email step of the same transaction, over HTTP against a real service.
 * A tenant found from a typed email may change; a tenant fixed by the URL, an invitation or
 * the window's login_hint may not (README "The sign-in flow", src/actions/email.ts), and a user the tenant
 * holds to the login_hint is not offered a switch that could never finish.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { decodeEntities, forms, hiddenValue } from '../helpers/html.js';
import { startService, testConfigFile, type TestService } from '../helpers/service.js';
import { expectErrorPage } from '../upstreams/oidc/expect.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
const PW = 'correct horse battery';
const HASH = hashPasswordSync(PW);

function local(id: string, domains: string[], users: string[], policy: Record<string, unknown> = {}) {
  return { id, displayName: `${id} org`, domains, policy, idp: { kind: 'local', users: users.map((upn) => ({ upn, passwordHash: HASH })) } };
}

const form = (body: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(body),
  redirect: 'manual' as const,
});

let svc: TestService;
beforeAll(async () => {
  svc = await startService({
    file: testConfigFile({
      tenants: [
        local('corp', ['example.test'], ['alice@example.test', 'bob@example.test']),
        // Holds no one to the window's hint: another account of the same tenant may finish.
        local('lab', ['lab.test'], ['tester@lab.test', 'other@lab.test'], { requireHintMatch: false }),
      ],
    }),
  });
});
afterAll(() => svc?.close());

async function get(path: string, init: RequestInit = {}) {
  const res = await fetch(`${svc.url}${path}`, { redirect: 'manual', ...init });
  const html = await res.text();
  return { res, html, text: decodeEntities(html) };
}
const auth = (params: Record<string, string>, prefix = '/auth') => `${prefix}?${new URLSearchParams({ appru: APPRU, ...params })}`;
const email = (state: string, address: string) => get('/auth/email', form({ state, email: address }));
const another = (state: string) => get('/auth/email', form({ state, another: '1' }));
const password = (state: string, username: string) => get('/auth/password', form({ state, username, password: PW }));
const claims = (html: string) => decodeJwt(hiddenValue(html, 'wresult')!);

/** The "use another account" form on a page, if any. */
const anotherForm = (html: string) => forms(html).find((f) => f.action === '/auth/email' && f.names.includes('another'));

describe('the password page names the user and offers another account', () => {
  it('after the email step: "Signing in as", the user kept in the form, a form back to the email step', async () => {
    const first = await get(auth({}));
    const state = hiddenValue(first.html, 'state')!;
    const pw = await email(state, 'alice@example.test');
    expect(pw.res.status).toBe(200);
    expect(pw.text).toContain('Signing in as alice@example.test');
    expect(hiddenValue(pw.html, 'username')).toBe('alice@example.test');
    expect(pw.html).not.toMatch(/<input type="email" id="username"/);
    expect(anotherForm(pw.html)).toEqual({ method: 'post', action: '/auth/email', names: ['state', 'another'] });
    expect(hiddenValue(pw.html.slice(pw.html.indexOf('class="another"')), 'state')).toBe(state);
  });

  it('the sign-in form stays the first form; after a wrong password the switch is still there (and still absent when held to the hint)', async () => {
    const first = await get(auth({ login_hint: 'tester@lab.test' }, '/t/lab/auth'));
    expect(forms(first.html)[0].action).toBe('/auth/password');
    const state = hiddenValue(first.html, 'state')!;
    const wrong = await get('/auth/password', form({ state, username: 'tester@lab.test', password: 'nope' }));
    expect(wrong.res.status).toBe(401);
    expect(wrong.text).toContain('Signing in as tester@lab.test');
    expect(anotherForm(wrong.html)).toBeDefined();

    const held = hiddenValue((await get(auth({ login_hint: 'alice@example.test' }))).html, 'state')!;
    const heldWrong = await get('/auth/password', form({ state: held, username: 'alice@example.test', password: 'nope' }));
    expect(heldWrong.res.status).toBe(401);
    expect(anotherForm(heldWrong.html)).toBeUndefined();
  });

  it('in every language', async () => {
    const first = await get(auth({ login_hint: 'tester@lab.test' }, '/t/lab/auth'), { headers: { 'accept-language': 'ja' } });
    expect(first.html).toContain('<html lang="ja">');
    expect(first.text).toContain('tester@lab.test としてサインインします');
    expect(first.text).toContain('別のアカウントを使用する');
  });

  it('without a known user: the user name field, no switch', async () => {
    const first = await get(auth({}, '/t/lab/auth'));
    expect(first.html).toMatch(/<input type="email" id="username" name="username" value=""/);
    expect(first.text).not.toContain('Signing in as');
    expect(anotherForm(first.html)).toBeUndefined();
  });

  it('no switch when the tenant holds the sign-in to the window\'s login_hint (requireHintMatch)', async () => {
    const first = await get(auth({ login_hint: 'alice@example.test' }));
    expect(first.text).toContain('Signing in as alice@example.test');
    expect(anotherForm(first.html)).toBeUndefined();
  });
});

describe('"use another account" goes back to the email step of the same transaction', () => {
  it('a tenant found from the typed email may change: another organization\'s user finishes there', async () => {
    const state = hiddenValue((await get(auth({}))).html, 'state')!;
    expect((await email(state, 'alice@example.test')).text).toContain('Signing in as alice@example.test');

    const back = await another(state);
    expect(back.res.status).toBe(200);
    expect(back.html).toContain('name="email"');
    expect(hiddenValue(back.html, 'email')).toBe('');
    expect(hiddenValue(back.html, 'state')).toBe(state);

    const lab = await email(state, 'tester@lab.test');
    expect(lab.text).toContain('Signing in as tester@lab.test');
    expect(lab.text).toContain('lab org');
    const done = await password(state, 'tester@lab.test');
    expect(claims(done.html)).toMatchObject({ tid: 'lab', upn: 'tester@lab.test' });
  });

  it('a tenant fixed by the URL stays: another account of that tenant finishes, another tenant\'s is refused', async () => {
    const first = await get(auth({ login_hint: 'tester@lab.test' }, '/t/lab/auth'));
    expect(anotherForm(first.html)).toBeDefined();
    const state = hiddenValue(first.html, 'state')!;

    const back = await another(state);
    expect(back.res.status).toBe(200);
    expect(back.text).toContain('lab org');
    const moved = await email(state, 'alice@example.test');
    expectErrorPage(moved.res, moved.html, 403, 'tenant_mismatch');

    const same = await email(state, 'other@lab.test');
    expect(same.text).toContain('Signing in as other@lab.test');
    expect(claims((await password(state, 'other@lab.test')).html)).toMatchObject({ tid: 'lab', upn: 'other@lab.test' });
  });

  it('a fixed tenant stays fixed even after an email was posted to it (no way to unbind it by switching)', async () => {
    const state = hiddenValue((await get(auth({}, '/t/lab/auth'))).html, 'state')!;
    expect((await email(state, 'tester@lab.test')).text).toContain('Signing in as tester@lab.test');
    expect((await another(state)).res.status).toBe(200);
    const moved = await email(state, 'alice@example.test');
    expectErrorPage(moved.res, moved.html, 403, 'tenant_mismatch');
  });

  it('a tenant found from login_hint stays, and a user it holds to the hint is told before the password', async () => {
    const state = hiddenValue((await get(auth({ login_hint: 'alice@example.test' }))).html, 'state')!;
    expect((await another(state)).res.status).toBe(200);
    const moved = await email(state, 'tester@lab.test');
    expectErrorPage(moved.res, moved.html, 403, 'tenant_mismatch');
    const otherUser = await email(state, 'bob@example.test');
    expectErrorPage(otherUser.res, otherUser.html, 403, 'hint_mismatch');
    // The hint's own user still signs in.
    expect((await email(state, 'ALICE@example.test')).res.status).toBe(200);
    expect(claims((await password(state, 'alice@example.test')).html)).toMatchObject({ tid: 'corp', upn: 'alice@example.test' });
  });

  it('an unknown or used state is refused like every other form', async () => {
    const unknown = await another('A'.repeat(32));
    expectErrorPage(unknown.res, unknown.html, 400, 'unknown_state');
    const state = hiddenValue((await get(auth({ login_hint: 'tester@lab.test' }, '/t/lab/auth'))).html, 'state')!;
    expect(claims((await password(state, 'tester@lab.test')).html)).toMatchObject({ upn: 'tester@lab.test' });
    const used = await another(state);
    expectErrorPage(used.res, used.html, 400, 'unknown_state');
  });
});
