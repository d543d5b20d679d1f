/**
 * --browser: the auth window in Debian's chromium through playwright-core (loaded only
 * here, so the CLI works without it). The wresult POST is caught as the browser sends
 * it, after the page's own CSP form-action allowed it: an ms-app:// appru cannot load,
 * but chromium still reports the request with its body; an http(s) appru is answered
 * by a route so nothing leaves the machine.
 */
import { existsSync } from 'node:fs';
import { IDENTIFIER_NAME, MAX_PAGES, type Captured, type WindowInput } from './window.js';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

type Playwright = typeof import('playwright-core');

export async function loadPlaywright(): Promise<Playwright | null> {
  try {
    return await import('playwright-core');
  } catch {
    return null;
  }
}

export function chromiumPath(env: NodeJS.ProcessEnv): string {
  return env.FEDBRIDGE_CHROMIUM || DEFAULT_CHROMIUM;
}

export function chromiumInstalled(env: NodeJS.ProcessEnv): boolean {
  return existsSync(chromiumPath(env));
}

/** What the page asks for, judged in the page itself (so IdP pages work too). */
type PageKind = 'wresult' | 'password' | 'email' | 'form' | 'redirect' | 'none';

interface Judged {
  kind: PageKind;
  /** Did the script answer the page (fill and submit)? */
  acted: boolean;
  summary: string;
}

/**
 * Runs in the page (plain JS: this project compiles without DOM types). Classifies the
 * page, fills the identifier and password boxes, and submits, except for kinds in
 * args.skip (answered once already: a second answer would repeat a refused password).
 */
const JUDGE_PAGE = `(args) => {
  const idName = new RegExp(args.idPattern, 'i');
  const visible = (el) => el.offsetParent !== null;
  const text = (sel) => { const el = document.querySelector(sel); return el ? el.textContent.replace(/\\s+/g, ' ').trim() : ''; };
  const summary = [text('h1'), text('[role=alert]') || text('.error'), text('code')].filter(Boolean).join(': ');
  const forms = Array.from(document.forms);
  if (forms.some((f) => f.querySelector('[name=wresult]'))) return { kind: 'wresult', acted: false, summary };
  const idBoxes = (f) => Array.from(f.querySelectorAll('input')).filter((i) => visible(i) && (i.type === 'email' || (i.type === 'text' && idName.test(i.name))));
  const pw = forms.find((f) => Array.from(f.querySelectorAll('input[type=password]')).some(visible));
  const form = pw || forms.find((f) => idBoxes(f).length > 0) || (forms.length === 1 ? forms[0] : undefined);
  if (!form) {
    const refresh = document.querySelector('meta[http-equiv="refresh" i]');
    return { kind: refresh ? 'redirect' : 'none', acted: false, summary };
  }
  const kind = pw ? 'password' : idBoxes(form).length ? 'email' : 'form';
  if (args.skip.includes(kind) || (kind === 'password' && args.password === null)) return { kind, acted: false, summary };
  for (const box of idBoxes(form)) box.value = args.user;
  if (pw) for (const box of form.querySelectorAll('input[type=password]')) box.value = args.password;
  const button = form.querySelector('button:not([type=button]):not([type=reset]), input[type=submit]');
  if (button) button.click(); else form.requestSubmit();
  return { kind, acted: true, summary };
}`;

/** Clicks the wresult form's fallback button (when its onload auto-submit did not run). */
const CLICK_WRESULT = `() => {
  const form = Array.from(document.forms).find((f) => f.querySelector('[name=wresult]'));
  const button = form && form.querySelector('button, input[type=submit]');
  if (button) button.click(); else if (form) form.submit();
}`;

const sleep = (ms: number) => new Promise<null>((r) => setTimeout(() => r(null), ms).unref?.());

export async function browserWindow(input: WindowInput, opts: { headed: boolean; env: NodeJS.ProcessEnv }): Promise<Captured> {
  const pw = await loadPlaywright();
  if (!pw) throw new Error('playwright-core is not installed (npm install playwright-core), or use --http');
  const browser = await pw.chromium.launch({
    executablePath: chromiumPath(opts.env),
    headless: !opts.headed,
    args: CHROMIUM_ARGS.filter((a) => !opts.headed || a !== '--headless'),
    timeout: input.timeoutMs,
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(input.timeoutMs);
    const target = new URL(input.appru);
    const sameTarget = (url: string) => {
      try {
        const u = new URL(url);
        return u.protocol === target.protocol && u.host === target.host && u.pathname === target.pathname;
      } catch {
        return false;
      }
    };
    let resolveCapture!: (c: { action: string; body: string }) => void;
    const captured = new Promise<{ action: string; body: string }>((r) => (resolveCapture = r));
    page.on('request', (req) => {
      if (req.method() === 'POST' && sameTarget(req.url())) resolveCapture({ action: req.url(), body: req.postData() ?? '' });
    });
    if (target.protocol === 'http:' || target.protocol === 'https:') {
      await page.route((u) => sameTarget(u.href), (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'captured by fedbridge simulate' }));
    }

    const pages: string[] = [];
    const done = captured.then((c) => ({ c }));
    const answered: string[] = [];
    await Promise.race([page.goto(input.url, { waitUntil: 'load' }), done]);
    for (let n = 0; n < MAX_PAGES; n++) {
      const early = await Promise.race([done, sleep(0)]);
      if (early) return finish(early.c, pages);
      await page.waitForLoadState('load');
      // Armed before answering, so a fast navigation is not missed; a timeout just re-judges the page.
      const loaded = page.waitForEvent('load', { timeout: input.timeoutMs }).then(() => null, () => null);
      let judged: Judged;
      try {
        judged = (await page.evaluate(`(${JUDGE_PAGE})(${JSON.stringify({ user: input.user, password: input.password ?? null, idPattern: IDENTIFIER_NAME.source, skip: answered })})`)) as Judged;
      } catch {
        continue; // the page navigated while being read (meta refresh, auto-submitting IdP form)
      }
      const { kind, acted, summary } = judged;
      if (pages.at(-1) !== kind || acted) pages.push(kind);
      if (kind === 'none') throw new Error(`stuck on ${new URL(page.url()).pathname}: ${summary || 'no form to answer'}`);
      // Headed without --password: the person at the window types it; just wait for the next page.
      const typing = kind === 'password' && input.password === undefined;
      if (typing && !opts.headed) throw new Error('the sign-in asks for a password; pass --password (or --headed and type it)');
      if (!acted && !typing && (kind === 'password' || kind === 'email')) throw new Error(`the ${kind} page refused the answer: ${summary}`);
      if (kind === 'password' || kind === 'email') answered.push(kind);
      if (kind === 'wresult') {
        const auto = await Promise.race([done, sleep(3000)]);
        if (auto) return finish(auto.c, pages);
        await page.evaluate(`(${CLICK_WRESULT})()`);
        const clicked = await Promise.race([done, sleep(input.timeoutMs)]);
        if (clicked) return finish(clicked.c, pages);
        throw new Error('the wresult form was not posted to the appru (blocked by its CSP form-action?)');
      }
      const next = await Promise.race([done, loaded]);
      if (next) return finish(next.c, pages);
    }
    throw new Error(`no token after ${MAX_PAGES} pages (${pages.join(' → ')})`);
  } finally {
    await browser.close();
  }
}

function finish(c: { action: string; body: string }, pages: string[]): Captured {
  const wresult = new URLSearchParams(c.body).get('wresult');
  if (wresult === null) throw new Error(`the POST to ${c.action} carried no wresult`);
  if (pages.at(-1) !== 'wresult') pages.push('wresult');
  return { action: c.action, wresult, pages };
}
