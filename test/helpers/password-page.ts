/**
 * The local password page as a browser uses it (README; trustProxy: docs/configuration.md): GET /auth for a fresh
 * `state`, then POST /auth/password from a client address given in X-Forwarded-For (the service
 * must trust the proxy). `base()` is the service's URL, read at call time.
 */
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { hiddenValue } from './html.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';

export function passwordPage(base: () => string) {
  async function startState(username: string): Promise<string> {
    const start = await fetch(`${base()}/auth?${new URLSearchParams({ appru: APPRU, login_hint: username })}`);
    return hiddenValue(await start.text(), 'state')!;
  }
  async function post(state: string, username: string, password: string, ip: string) {
    const res = await fetch(`${base()}/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
      body: new URLSearchParams({ state, username, password }),
    });
    const html = await res.text();
    return { res, status: res.status, html, token: hiddenValue(html, 'wresult') };
  }
  const attempt = async (username: string, password: string, ip: string) => post(await startState(username), username, password, ip);
  return { startState, post, attempt };
}

/**
 * A config file (startService's `file`) for the password page: a trusted proxy, SQLite, and one
 * tenant `contoso` whose local users u0@contoso.test … u{count-1}@contoso.test share `password`.
 */
export function localUsersFile(opts: { count: number; password: string; limits: Record<string, unknown>; extra?: Record<string, unknown> }): Record<string, unknown> {
  return {
    server: { publicUrl: 'http://127.0.0.1:{{PORT}}', trustProxy: true },
    store: { kind: 'sqlite', path: '{{DIR}}/data/fedbridge.db' },
    keys: { dir: '{{DIR}}/keys' },
    ...opts.extra,
    limits: opts.limits,
    tenants: [
      {
        id: 'contoso',
        displayName: 'Contoso Ltd',
        domains: ['contoso.test'],
        idp: { kind: 'local', users: Array.from({ length: opts.count }, (_, i) => ({ upn: `u${i}@contoso.test`, passwordHash: hashPasswordSync(opts.password) })) },
      },
    ],
  };
}
