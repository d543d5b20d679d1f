/**
 * --http: the auth window as plain HTTP with a cookie jar. Follows redirects and meta
 * refreshes, answers an email page and (with --password) a password page, submits any
 * other lone form (an IdP's consent or form_post page), and stops at the wresult form.
 */
import { IDENTIFIER_NAME, MAX_PAGES, type Captured, type WindowInput } from './window.js';
import { formData, metaRefresh, pageSummary, parseForms, type Form } from './forms.js';

/** Name=value cookies per host; enough for short sign-in sessions (paths and expiry ignored). */
class CookieJar {
  private readonly byHost = new Map<string, Map<string, string>>();

  header(url: URL): string | undefined {
    const jar = this.byHost.get(url.host);
    return jar && jar.size ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
  }

  store(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair!.indexOf('=');
      if (i < 1) continue;
      const jar = this.byHost.get(url.host) ?? new Map<string, string>();
      jar.set(pair!.slice(0, i).trim(), pair!.slice(i + 1).trim());
      this.byHost.set(url.host, jar);
    }
  }
}

interface Page {
  url: URL;
  status: number;
  html: string;
}

const kindOf = (form: Form): string =>
  form.controls.some((c) => c.name === 'wresult')
    ? 'wresult'
    : form.controls.some((c) => c.type === 'password')
      ? 'password'
      : form.controls.some((c) => c.type === 'email' || (c.type === 'text' && IDENTIFIER_NAME.test(c.name)))
        ? 'email'
        : 'form';

export async function httpWindow(input: WindowInput): Promise<Captured> {
  const jar = new CookieJar();
  const pages: string[] = [];
  const deadline = AbortSignal.timeout(input.timeoutMs);

  async function request(url: URL, init: { method: 'GET' | 'POST'; body?: URLSearchParams }): Promise<Page> {
    let current = url;
    let method = init.method;
    let body = init.body;
    for (let hops = 0; hops < MAX_PAGES; hops++) {
      const res = await fetch(current, {
        method,
        redirect: 'manual',
        signal: deadline,
        headers: {
          accept: 'text/html,application/xhtml+xml',
          ...(jar.header(current) ? { cookie: jar.header(current)! } : {}),
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        body: body?.toString(),
      });
      jar.store(current, res.headers);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        current = new URL(location, current);
        if (res.status !== 307 && res.status !== 308) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      return { url: current, status: res.status, html: await res.text() };
    }
    throw new Error(`more than ${MAX_PAGES} redirects`);
  }

  let page = await request(new URL(input.url), { method: 'GET' });
  const answered = new Set<string>();
  for (let n = 0; n < MAX_PAGES; n++) {
    const forms = parseForms(page.html);
    const kinds = forms.map(kindOf);
    const wresult = forms[kinds.indexOf('wresult')];
    if (wresult) {
      pages.push('wresult');
      const token = wresult.controls.find((c) => c.name === 'wresult')!.value;
      return { action: wresult.action, wresult: token, pages };
    }
    const refresh = metaRefresh(page.html);
    if (refresh) {
      pages.push('redirect');
      page = await request(new URL(refresh, page.url), { method: 'GET' });
      continue;
    }
    const pick = ['password', 'email', 'form'].map((k) => kinds.indexOf(k)).find((i) => i >= 0);
    const form = pick === undefined ? undefined : forms[pick];
    const kind = pick === undefined ? undefined : kinds[pick]!;
    if (!form || !kind || (kind === 'form' && forms.length > 1)) {
      throw new Error(`stuck on ${page.url.origin}${page.url.pathname} (HTTP ${page.status}): ${pageSummary(page.html) || 'no form to answer'}`);
    }
    // Answering the same page twice means it refused the first answer (wrong password, unknown org).
    if (kind !== 'form' && answered.has(kind)) throw new Error(`the ${kind} page refused the answer (HTTP ${page.status}): ${pageSummary(page.html)}`);
    if (kind === 'password' && input.password === undefined) {
      throw new Error('the sign-in asks for a password; pass --password (or use --browser --headed and type it)');
    }
    answered.add(kind);
    pages.push(kind);
    const fill: Record<string, string> = {};
    for (const c of form.controls) {
      if (c.type === 'password') fill[c.name] = input.password ?? '';
      else if (c.type === 'email' || (c.type === 'text' && IDENTIFIER_NAME.test(c.name))) fill[c.name] = input.user;
    }
    const target = new URL(form.action || page.url.href, page.url);
    const data = formData(form, fill);
    page =
      form.method === 'POST'
        ? await request(target, { method: 'POST', body: data })
        : await request(new URL(`${target.origin}${target.pathname}?${data}`), { method: 'GET' });
  }
  throw new Error(`no token after ${MAX_PAGES} pages (${pages.join(' → ')})`);
}
