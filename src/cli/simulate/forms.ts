/**
 * Just enough HTML reading for the --http auth window: forms with their controls,
 * a meta refresh, and a page's title/alert for error reports. Pages come from our
 * own templates or an IdP's login page, not arbitrary web content.
 */

export interface Control {
  tag: 'input' | 'button' | 'textarea' | 'select';
  name: string;
  type: string;
  value: string;
  checked: boolean;
}

export interface Form {
  method: 'GET' | 'POST';
  /** As written (entity-decoded); resolve against the page URL. */
  action: string;
  controls: Control[];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** Attributes of one start tag: name="v", name='v', name=v, or a bare name. */
export function parseAttributes(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  const inner = tag.replace(/^<\s*[a-z0-9]+/i, '').replace(/\/?>$/, '');
  for (let m = re.exec(inner); m; m = re.exec(inner)) {
    const name = m[1]!.toLowerCase();
    if (!(name in attrs)) attrs[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

const stripComments = (html: string) => html.replace(/<!--[\s\S]*?-->/g, '');

function controlsOf(body: string): Control[] {
  const out: Control[] = [];
  const re = /<(input|button|textarea|select)\b[^>]*>/gi;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    const tag = m[1]!.toLowerCase() as Control['tag'];
    const a = parseAttributes(m[0]);
    let value = a.value ?? '';
    if (tag === 'textarea') value = decodeEntities(/^([\s\S]*?)<\/textarea>/i.exec(body.slice(re.lastIndex))?.[1] ?? '');
    if (tag === 'select') {
      const inner = /^([\s\S]*?)<\/select>/i.exec(body.slice(re.lastIndex))?.[1] ?? '';
      const options = [...inner.matchAll(/<option\b[^>]*>/gi)].map((o) => parseAttributes(o[0]));
      value = (options.find((o) => 'selected' in o) ?? options[0])?.value ?? '';
    }
    const type = (a.type ?? (tag === 'button' ? 'submit' : 'text')).toLowerCase();
    // A checked box without a value attribute submits "on", as browsers do.
    if ((type === 'checkbox' || type === 'radio') && a.value === undefined) value = 'on';
    out.push({ tag, name: a.name ?? '', type, value, checked: 'checked' in a });
  }
  return out;
}

export function parseForms(html: string): Form[] {
  const forms: Form[] = [];
  const re = /<form\b[^>]*>([\s\S]*?)<\/form>/gi;
  const clean = stripComments(html);
  for (let m = re.exec(clean); m; m = re.exec(clean)) {
    const a = parseAttributes(/^<form\b[^>]*>/i.exec(m[0])![0]);
    forms.push({ method: (a.method ?? 'get').toUpperCase() === 'POST' ? 'POST' : 'GET', action: a.action ?? '', controls: controlsOf(m[1]!) });
  }
  return forms;
}

/** What a browser would submit, with `fill` overriding named fields (first submit button included). */
export function formData(form: Form, fill: Record<string, string> = {}): URLSearchParams {
  const data = new URLSearchParams();
  let submitted = false;
  for (const c of form.controls) {
    if (!c.name) continue;
    if (c.type === 'submit' || c.type === 'image') {
      if (!submitted) data.append(c.name, c.value);
      submitted = true;
      continue;
    }
    if ((c.type === 'checkbox' || c.type === 'radio') && !c.checked) continue;
    if (c.type === 'button' || c.type === 'reset' || c.type === 'file') continue;
    data.append(c.name, c.name in fill ? fill[c.name]! : c.value);
  }
  return data;
}

/** The URL of a <meta http-equiv="refresh" content="0;url=..."> redirect, if any. */
export function metaRefresh(html: string): string | null {
  for (const m of stripComments(html).matchAll(/<meta\b[^>]*>/gi)) {
    const a = parseAttributes(m[0]);
    if ((a['http-equiv'] ?? '').toLowerCase() !== 'refresh') continue;
    const url = /url\s*=\s*['"]?([^'"]+)['"]?\s*$/i.exec(a.content ?? '');
    if (url) return url[1]!.trim();
  }
  return null;
}

const plain = (s: string) => decodeEntities(s.replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim();

/** A short human summary of a page: its heading, alert text and error reference, for FAIL lines. */
export function pageSummary(html: string): string {
  const h1 = /<h1\b[^>]*>([\s\S]*?)<\/h1>/i.exec(html)?.[1];
  const title = /<title\b[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1];
  // role="alert" (ours) or class="error" (common on IdP login pages).
  const alert = /<([a-z]+)\b[^>]*(?:role="alert"|class="[^"]*\berror\b[^"]*")[^>]*>([\s\S]*?)<\/\1>/i.exec(html)?.[2];
  const code = /<code\b[^>]*>([\s\S]*?)<\/code>/i.exec(html)?.[1];
  return [h1 ?? title, alert, code ? `(${plain(code)})` : undefined]
    .filter((s): s is string => !!s)
    .map(plain)
    .filter(Boolean)
    .join(': ')
    .slice(0, 300);
}
