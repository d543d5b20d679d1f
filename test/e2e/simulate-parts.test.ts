/** The simulator's own parts: HTML form reading (--http), the PKCS#10 CSR, the window URL. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formData, metaRefresh, pageSummary, parseForms } from '../../src/cli/simulate/forms.js';
import { makeCsrBase64 } from '../../src/cli/simulate/csr.js';
import { windowUrl } from '../../src/cli/simulate/window.js';

describe('forms', () => {
  const html = `
    <!-- <form action="/ignored"></form> -->
    <form method='POST' action="/login?x=1&amp;y=2">
      <input type=hidden name=state value="s&quot;1">
      <input name="login" value="">
      <input type="password" name="password">
      <input type="checkbox" name="remember">
      <input type="checkbox" name="terms" checked>
      <select name="lang"><option value="en">en</option><option value="de" selected>de</option></select>
      <textarea name="note">a &lt;b&gt;</textarea>
      <button type="submit" name="go" value="1">Sign in</button>
      <button type="submit" name="other" value="2">Other</button>
    </form>`;

  it('reads method, action and controls (entities decoded, comments skipped)', () => {
    const [form, ...rest] = parseForms(html);
    expect(rest).toHaveLength(0);
    expect(form!.method).toBe('POST');
    expect(form!.action).toBe('/login?x=1&y=2');
    expect(form!.controls.map((c) => [c.name, c.type])).toEqual([
      ['state', 'hidden'], ['login', 'text'], ['password', 'password'], ['remember', 'checkbox'], ['terms', 'checkbox'],
      ['lang', 'text'], ['note', 'text'], ['go', 'submit'], ['other', 'submit'],
    ]);
  });

  it('submits like a browser: filled fields, checked boxes, selected option, first button only', () => {
    const data = formData(parseForms(html)[0]!, { login: 'alice@example.com', password: 'pw' });
    expect([...data]).toEqual([
      ['state', 's"1'], ['login', 'alice@example.com'], ['password', 'pw'], ['terms', 'on'],
      ['lang', 'de'], ['note', 'a <b>'], ['go', '1'],
    ]);
  });

  it('finds a meta refresh and summarizes an error page', () => {
    expect(metaRefresh('<meta http-equiv="refresh" content="0;url=https://idp.example/authorize?a=1&amp;b=2">')).toBe('https://idp.example/authorize?a=1&b=2');
    expect(metaRefresh('<p>no</p>')).toBeNull();
    const page = '<h1>This invitation has expired</h1><div class="error" role="alert"><p>Ask again.</p></div><p><code>invitation_expired</code></p>';
    expect(pageSummary(page)).toBe('This invitation has expired: Ask again.: (invitation_expired)');
  });
});

describe('windowUrl', () => {
  it('adds appru and login_hint to the AuthenticationServiceUrl, keeping its own query', () => {
    const u = new URL(windowUrl('https://auth.example.com/auth?os=10', 'ms-app://windows.immersivecontrolpanel', 'a+b@example.com'));
    expect(Object.fromEntries(u.searchParams)).toEqual({ os: '10', appru: 'ms-app://windows.immersivecontrolpanel', login_hint: 'a+b@example.com' });
  });
});

describe('CSR', () => {
  it('is DER that openssl parses and whose self-signature verifies', (ctx) => {
    let openssl = true;
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
    } catch {
      openssl = false;
    }
    const der = Buffer.from(makeCsrBase64('B1C43CD016245FBB8E5434CF17DFD3A1'), 'base64');
    expect(der[0]).toBe(0x30);
    if (!openssl) return ctx.skip();
    const dir = mkdtempSync(join(tmpdir(), 'fedbridge-csr-'));
    try {
      writeFileSync(join(dir, 'req.der'), der);
      const out = execFileSync('openssl', ['req', '-in', join(dir, 'req.der'), '-inform', 'DER', '-verify', '-noout', '-subject'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out).toMatch(/CN\s*=\s*B1C43CD016245FBB8E5434CF17DFD3A1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
