/** Small readers for the pages the service renders (tests only; no HTML library needed). */

export function hiddenValue(html: string, name: string): string | null {
  const re = new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`, 'i');
  const m = re.exec(html) ?? new RegExp(`<input[^>]*value="([^"]*)"[^>]*name="${name}"`, 'i').exec(html);
  return m ? decodeEntities(m[1]) : null;
}

export function decodeEntities(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export interface FormInfo {
  method: string;
  action: string;
  /** Every named control. */
  names: string[];
}

export function forms(html: string): FormInfo[] {
  const out: FormInfo[] = [];
  const re = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    const attrs = m[1];
    const method = /method="([^"]*)"/i.exec(attrs)?.[1] ?? 'get';
    const action = decodeEntities(/action="([^"]*)"/i.exec(attrs)?.[1] ?? '');
    const names = [...m[2].matchAll(/<(?:input|button|select|textarea)\b[^>]*\bname="([^"]*)"/gi)].map((x) => x[1]);
    out.push({ method, action, names });
  }
  return out;
}

/** The whole demo sign-in over HTTP: /auth → password page → wresult page. */
export async function signIn(base: string, opts: { appru: string; hint?: string; user: string; password: string; extra?: Record<string, string> }) {
  // Percent-encoding (%20, %2B) as a URL builder does, not form encoding ('+' for space):
  // /auth reads login_hint's '+' literally, since UPNs may contain it.
  const params = { appru: opts.appru, ...(opts.hint ? { login_hint: opts.hint } : {}), ...opts.extra };
  const q = Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  const first = await fetch(`${base}/auth?${q}`, { redirect: 'manual' });
  const page = await first.text();
  const state = hiddenValue(page, 'state');
  if (!state) throw new Error(`no state on the first page (status ${first.status})`);
  const res = await fetch(`${base}/auth/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ state, username: opts.user, password: opts.password }),
  });
  const html = await res.text();
  return { res, html, state, token: hiddenValue(html, 'wresult') };
}
