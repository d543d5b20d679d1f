/**
 * One account, one password budget (docs/adfs.md, "wstrust"): AD FS accepts `CONTOSO\alice`,
 * `contoso\Alice`, `alice@contoso.com` and `ALICE@CONTOSO.COM.` for one person, so the per-user
 * limit (`limits.passwordPerUser`) must count them together; otherwise each spelling would be a
 * fresh budget of guesses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, testConfigFile, type TestService } from '../helpers/service.js';
import { hiddenValue } from '../helpers/html.js';
import { DEFAULT_USERS, startAdfsFixture, type AdfsFixture } from '../fixtures/adfs/index.js';
import { wstrustAccountKey } from '../../src/upstreams/wstrust/account.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
const STS_PATH = '/adfs/services/trust/13/usernamemixed';
const ALICE = DEFAULT_USERS['alice@contoso.com']!;
const BOB = DEFAULT_USERS['CONTOSO\\bob']!;

describe('wstrustAccountKey', () => {
  it('maps every spelling of one account to one key', () => {
    const spellings = ['CONTOSO\\alice', 'contoso\\Alice', 'alice@contoso.com', 'ALICE@CONTOSO.COM.', ' contoso.com\\ALICE ', 'alice', 'ａｌｉｃｅ@contoso.com'];
    expect(new Set(spellings.map(wstrustAccountKey))).toEqual(new Set(['alice']));
  });

  it('keeps different accounts apart, and never yields an empty key', () => {
    expect(wstrustAccountKey('CONTOSO\\bob')).toBe('bob');
    expect(wstrustAccountKey('alice.martin@contoso.com')).toBe('alice.martin');
    expect(wstrustAccountKey('CONTOSO\\')).toBe('contoso\\');
    expect(wstrustAccountKey('@contoso.com')).toBe('@contoso.com');
  });
});

describe('the wstrust password page: one budget per account', () => {
  let adfs: AdfsFixture;
  let svc: TestService;
  beforeAll(async () => {
    adfs = await startAdfsFixture({ users: DEFAULT_USERS });
    svc = await startService({
      file: testConfigFile({
        limits: { passwordPerUser: 3, passwordPerIp: 100 },
        tenants: [
          {
            id: 'contoso',
            displayName: 'Contoso Ltd',
            domains: ['contoso.com'],
            idp: { kind: 'wstrust', endpoint: adfs.stsUrl, metadataUrl: adfs.metadataUrl, appliesTo: 'urn:federation:fedbridge-contoso' },
          },
        ],
      }),
    });
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
    await adfs?.close();
  });

  async function attempt(hint: string, username: string, password: string) {
    const page = await fetch(`${svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: hint })}`);
    const state = hiddenValue(await page.text(), 'state');
    expect(state).toBeTruthy();
    const res = await fetch(`${svc.url}/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ state: state!, username, password }),
    });
    const html = await res.text();
    return { status: res.status, html, token: hiddenValue(html, 'wresult') };
  }

  it("three wrong guesses under three spellings spend alice's budget: a fourth spelling, even with her password, is refused before the STS", async () => {
    for (const name of ['CONTOSO\\alice', 'contoso\\Alice', 'alice@contoso.com']) {
      expect((await attempt('alice@contoso.com', name, 'Wrong-guess-1')).status).toBe(401);
    }
    const sts = adfs.hits[STS_PATH] ?? 0;
    for (const [name, password] of [['ALICE@CONTOSO.COM.', 'Wrong-guess-2'], ['alice@contoso.com', ALICE.password]] as const) {
      const r = await attempt('alice@contoso.com', name, password);
      expect(r.status).toBe(429);
      expect(r.html).toContain('<code>too_many_attempts</code>');
      expect(r.token).toBeNull();
    }
    expect(adfs.hits[STS_PATH] ?? 0).toBe(sts); // the refused guesses never reached AD FS
    // Another account of the tenant keeps its own budget.
    expect((await attempt('bob@contoso.com', 'CONTOSO\\bob', BOB.password)).token).toBeTruthy();
  }, 60_000);
});
