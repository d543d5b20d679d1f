/** A service with the console switched on (admin.token), and a tiny cookie-carrying HTTP client for it. */
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { startService, testConfigFile, type TestClock, type TestService } from '../helpers/service.js';

export const ADMIN_TOKEN = 'console-test-admin-token-0123456789';
export const PASSWORD = 'console-test-password';

let hash: string | undefined;

/** Two tenants with local IdPs: `acme` (acme.test: ann, bob) and `globex` (globex.test: gil). */
export function consoleConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  hash ??= hashPasswordSync(PASSWORD);
  const local = (id: string, users: string[]) => ({ kind: 'local', id, users: users.map((upn) => ({ upn, name: upn, passwordHash: hash })) });
  return testConfigFile({
    admin: { token: ADMIN_TOKEN },
    tenants: [
      { id: 'acme', displayName: 'Acme Corp', domains: ['acme.test'], branding: { primaryColor: '#0067b8' }, idp: local('acme-local', ['ann@acme.test', 'bob@acme.test']) },
      { id: 'globex', displayName: 'Globex', domains: ['globex.test'], idp: local('globex-local', ['gil@globex.test']) },
    ],
    ...extra,
  });
}

export function startConsoleService(opts: { extra?: Record<string, unknown>; clock?: TestClock } = {}): Promise<TestService> {
  return startService({ file: consoleConfig(opts.extra), clock: opts.clock });
}

/** The `name=value` of the console cookie a response sets, or null. */
export function consoleCookie(res: Response): string | null {
  const c = res.headers.getSetCookie().find((h) => h.startsWith('fb_console='));
  return c ? c.split(';')[0] : null;
}

export class ConsoleClient {
  cookie: string | null = null;
  constructor(readonly base: string) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(`${this.base}${path}`, { redirect: 'manual', headers: { ...(this.cookie ? { cookie: this.cookie } : {}), ...headers } });
    this.keep(res);
    return res;
  }

  /** A form post as the browser sends it from the console's own page (same-origin headers). */
  async post(path: string, form: Record<string, string>, headers: Record<string, string | undefined> = {}): Promise<Response> {
    const res = await fetch(`${this.base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: this.base,
        'sec-fetch-site': 'same-origin',
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined)),
      },
      body: new URLSearchParams(form),
    });
    this.keep(res);
    return res;
  }

  private keep(res: Response): void {
    const c = consoleCookie(res);
    if (c) this.cookie = c.endsWith('=') ? null : c;
  }

  async signIn(token = ADMIN_TOKEN): Promise<Response> {
    return this.post('/admin/sign-in', { token });
  }

  /** The CSRF token of the session, read from a console page's form. */
  async csrf(): Promise<string> {
    const html = await (await this.get('/admin/invitations')).text();
    const m = /name="_csrf" value="([^"]+)"/.exec(html);
    if (!m) throw new Error('no _csrf on the invitations page');
    return m[1];
  }
}
