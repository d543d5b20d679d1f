/**
 * A real SAML 2.0 IdP and WS-Federation IdP for the tests: Debian's SimpleSAMLphp 1.19 (its
 * `saml` module and its `adfs` module), served by `php -S 127.0.0.1:PORT` with the router of
 * test/fixtures/simplesamlphp/, with a configuration written into a temp dir
 * (SIMPLESAMLPHP_CONFIG_DIR) and a signing key generated per run with openssl. Nobody here
 * wrote it, which is the point (issue #8; its behaviour: PROTOCOL.md §8).
 *
 * Also the browser half of a sign-in over plain HTTP (cookie jar, redirects, the login form,
 * the auto-POST form) so the end-to-end tests can drive Fedbridge through it.
 *
 * Needs: php-cli (8.x) with php-xml (dom, xml, SimpleXML, xmlreader, xmlwriter), openssl and
 * zlib (built in on Debian), the `simplesamlphp` package, and the `openssl` command.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import { freePort } from './redis.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/simplesamlphp');
const PREFIX = '/simplesaml/';

/** The AD FS claim URIs the peer issues (Fedbridge's default claim names, docs/assertions.md "Identity mapping"). */
export const SSP_CLAIMS = {
  upn: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
  email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  name: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  groups: 'http://schemas.xmlsoap.org/claims/Group',
} as const;

export interface SspUser {
  /** Typed into the login form (no ':' allowed by exampleauth:UserPass). */
  username: string;
  password: string;
  upn: string;
  email?: string;
  name?: string;
  groups?: string[];
  /** More attributes, by name (a claim URI for WS-Fed), each multi-valued. */
  extra?: Record<string, string[]>;
}

export interface SspSamlSp {
  entityId: string;
  /** One or more HTTP-POST AssertionConsumerService URLs (SimpleSAMLphp refuses others). */
  acs: string | string[];
  /** The SP's certificate (PEM): needed for `validateAuthnRequest` and `encryptAssertions`. */
  certificate?: string;
  validateAuthnRequest?: boolean;
  encryptAssertions?: boolean;
}

export interface SspWsfedSp {
  /** The `wtrealm` (relying party identifier and audience). */
  realm: string;
  /** Where the answer is posted when the request names no `wreply` (its host is also trusted). */
  wreply: string;
}

export interface SspRelyingParties {
  samlSps?: SspSamlSp[];
  wsfedSps?: SspWsfedSp[];
}

export interface SimpleSamlPhpOptions extends SspRelyingParties {
  users: SspUser[];
  /** `saml20.sign.response` (default true, SimpleSAMLphp's own default). */
  signResponse?: boolean;
  /** `saml20.sign.assertion` (default true). */
  signAssertion?: boolean;
  /**
   * SAML attribute names: the AD FS claim URIs of SSP_CLAIMS (default), or the short names
   * `upn`, `email`, `name`, `groups`. WS-Fed always uses the claim URIs.
   */
  samlAttributeNames?: 'claims' | 'short';
  /** More `host[:port]` entries for `trusted.url.domains` (the SP URLs' hosts are added). */
  trustedDomains?: string[];
  /** The SAML IdP's entity ID (default: its metadata URL, SimpleSAMLphp's own default). */
  samlEntityId?: string;
  /** The WS-Fed IdP's entity ID, also the assertions' Issuer (default `urn:federation:127.0.0.1:idp`). */
  wsfedEntityId?: string;
}

export interface SimpleSamlPhp {
  /** e.g. http://127.0.0.1:PORT/simplesaml/ (SimpleSAMLphp's `baseurlpath`, ending in '/'). */
  baseUrl: string;
  /** The IdP's signing certificate (PEM), the one both IdPs publish. */
  certificatePem: string;
  saml: { entityId: string; metadataUrl: string; ssoUrl: string };
  wsfed: { entityId: string; metadataUrl: string; passiveEndpoint: string };
  /** SimpleSAMLphp's own log and the php -S request log. */
  logFiles: { simplesamlphp: string; server: string };
  /**
   * Replaces the SAML SPs and/or the WS-Fed relying parties it knows (a list left out is kept).
   * Metadata is re-read on every request, so this works while running: for SPs whose port is
   * known only after the peer started.
   */
  setRelyingParties(rps: SspRelyingParties): void;
  /** The tail of both logs, for a failing test's message. */
  logs(): string;
  stop(): Promise<void>;
}

const execFileP = promisify(execFile);

function hostOf(url: string): string {
  const u = new URL(url);
  return u.host; // includes a non-default port, as trusted.url.domains needs it
}

function userAttributes(u: SspUser): Record<string, string[]> {
  const a: Record<string, string[]> = { [SSP_CLAIMS.upn]: [u.upn] };
  if (u.email !== undefined) a[SSP_CLAIMS.email] = [u.email];
  if (u.name !== undefined) a[SSP_CLAIMS.name] = [u.name];
  if (u.groups?.length) a[SSP_CLAIMS.groups] = [...u.groups];
  return { ...a, ...u.extra };
}

function peerJson(dir: string, baseurlpath: string, opts: SimpleSamlPhpOptions, rps: SspRelyingParties) {
  for (const u of opts.users) {
    if (u.username.includes(':')) throw new Error(`exampleauth:UserPass usernames cannot contain ':' (${u.username})`);
  }
  const samlSps = rps.samlSps ?? [];
  const wsfedSps = rps.wsfedSps ?? [];
  const trusted = new Set<string>(['127.0.0.1', 'localhost', ...(opts.trustedDomains ?? [])]);
  for (const sp of samlSps) for (const a of [sp.acs].flat()) trusted.add(hostOf(a));
  for (const sp of wsfedSps) trusted.add(hostOf(sp.wreply));
  const short = opts.samlAttributeNames === 'short';
  return {
    dir,
    baseurlpath,
    secretsalt: randomBytes(24).toString('hex'),
    adminpassword: randomBytes(24).toString('hex'),
    trustedDomains: [...trusted],
    upnAttribute: SSP_CLAIMS.upn,
    samlEntityId: opts.samlEntityId ?? '__DYNAMIC:1__',
    wsfedEntityId: opts.wsfedEntityId ?? '__DYNAMIC:1__',
    users: opts.users.map((u) => ({ username: u.username, password: u.password, attributes: userAttributes(u) })),
    saml: {
      signResponse: opts.signResponse ?? true,
      signAssertion: opts.signAssertion ?? true,
      attributeMap: short
        ? { [SSP_CLAIMS.upn]: 'upn', [SSP_CLAIMS.email]: 'email', [SSP_CLAIMS.name]: 'name', [SSP_CLAIMS.groups]: 'groups' }
        : {},
      sps: samlSps.map((sp) => ({
        entityId: sp.entityId,
        acs: [sp.acs].flat(),
        certificate: sp.certificate ? pemBody(sp.certificate) : undefined,
        validateAuthnRequest: sp.validateAuthnRequest ?? false,
        encryptAssertions: sp.encryptAssertions ?? false,
      })),
    },
    wsfed: { sps: wsfedSps.map((sp) => ({ realm: sp.realm, wreply: sp.wreply })) },
  };
}

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Polls the metadata URLs until each answers 200 with an EntityDescriptor; returns each one's entityID. */
async function waitForMetadata(urls: string[], child: ChildProcess, deadlineMs: number): Promise<Map<string, string>> {
  const until = Date.now() + deadlineMs;
  const pending = new Set(urls);
  const entityIds = new Map<string, string>();
  let last = '';
  while (pending.size > 0) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`php exited (${child.exitCode ?? child.signalCode})`);
    if (Date.now() > until) throw new Error(`SimpleSAMLphp did not answer its metadata in ${deadlineMs} ms (${last})`);
    for (const url of [...pending]) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        const body = await res.text();
        const entityId = /<(?:md:)?EntityDescriptor\b[^>]*\sentityID="([^"]*)"/.exec(body)?.[1];
        if (res.status === 200 && entityId !== undefined) {
          pending.delete(url);
          entityIds.set(url, decodeHtml(entityId));
        } else last = `${url}: ${res.status} ${body.slice(0, 200)}`;
      } catch (e) {
        last = `${url}: ${(e as Error).message}`;
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 50));
  }
  return entityIds;
}

/** Starts SimpleSAMLphp on a free 127.0.0.1 port; resolves once both metadata documents answer. */
export async function startSimpleSamlPhp(opts: SimpleSamlPhpOptions): Promise<SimpleSamlPhp> {
  const sspDir = process.env.SIMPLESAMLPHP_DIR ?? '/usr/share/simplesamlphp';
  const php = process.env.PHP ?? 'php';
  if (!existsSync(join(sspDir, 'www', 'module.php'))) {
    throw new Error(`SimpleSAMLphp not found in ${sspDir} (apt-get install simplesamlphp php-cli php-xml)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'fedbridge-ssp-'));
  let child: ChildProcess | undefined;
  try {
    const configDir = join(dir, 'config');
    for (const d of ['config/metadata', 'cert', 'log', 'data', 'tmp', 'sessions']) mkdirSync(join(dir, d), { recursive: true });
    copyFileSync(join(FIXTURES, 'config.php'), join(configDir, 'config.php'));
    copyFileSync(join(FIXTURES, 'authsources.php'), join(configDir, 'authsources.php'));
    for (const f of ['saml20-idp-hosted.php', 'saml20-sp-remote.php', 'adfs-idp-hosted.php', 'adfs-sp-remote.php']) {
      copyFileSync(join(FIXTURES, 'metadata', f), join(configDir, 'metadata', f));
    }
    const keyFile = join(dir, 'cert', 'idp.key');
    const certFile = join(dir, 'cert', 'idp.crt');
    await execFileP('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
      '-subj', '/CN=simplesamlphp-test-idp', '-keyout', keyFile, '-out', certFile,
    ]);
    const certificatePem = readFileSync(certFile, 'utf8');
    const sspLog = join(dir, 'log', 'simplesamlphp.log');
    const serverLog = join(dir, 'log', 'php-server.log');

    // php -S may lose the race for the port the OS handed us: try a few.
    let baseUrl = '';
    let entityIds = new Map<string, string>();
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      baseUrl = `http://127.0.0.1:${port}${PREFIX}`;
      const writeConfig = (rps: SspRelyingParties) =>
        writeFileSync(join(configDir, 'peer.json'), JSON.stringify(peerJson(dir, baseUrl, opts, rps), null, 1));
      writeConfig(opts);
      const out = openSync(serverLog, 'a');
      child = spawn(php, ['-d', 'display_errors=stderr', '-d', 'log_errors=0', '-S', `127.0.0.1:${port}`, join(FIXTURES, 'router.php')], {
        cwd: join(sspDir, 'www'),
        env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: configDir, SSP_WWW: join(sspDir, 'www'), SSP_PREFIX: PREFIX },
        stdio: ['ignore', out, out],
      });
      closeSync(out);
      try {
        entityIds = await waitForMetadata([`${baseUrl}saml2/idp/metadata.php`, `${baseUrl}module.php/adfs/idp/metadata.php`], child, 15_000);
        break;
      } catch (e) {
        const exited = child.exitCode !== null;
        await killChild(child);
        child = undefined;
        if (!exited || attempt >= 3) throw new Error(`${(e as Error).message}\n${tail(serverLog)}\n${tail(sspLog)}`);
      }
    }

    const running = child!;
    let current: SspRelyingParties = { samlSps: opts.samlSps, wsfedSps: opts.wsfedSps };
    const samlMetadataUrl = `${baseUrl}saml2/idp/metadata.php`;
    const wsfedMetadataUrl = `${baseUrl}module.php/adfs/idp/metadata.php`;
    return {
      baseUrl,
      certificatePem,
      saml: { entityId: entityIds.get(samlMetadataUrl)!, metadataUrl: samlMetadataUrl, ssoUrl: `${baseUrl}saml2/idp/SSOService.php` },
      wsfed: { entityId: entityIds.get(wsfedMetadataUrl)!, metadataUrl: wsfedMetadataUrl, passiveEndpoint: `${baseUrl}module.php/adfs/idp/prp.php` },
      logFiles: { simplesamlphp: sspLog, server: serverLog },
      setRelyingParties(rps) {
        current = { samlSps: rps.samlSps ?? current.samlSps, wsfedSps: rps.wsfedSps ?? current.wsfedSps };
        writeFileSync(join(configDir, 'peer.json'), JSON.stringify(peerJson(dir, baseUrl, opts, current), null, 1));
      },
      logs: () => `--- php -S ---\n${tail(serverLog)}\n--- simplesamlphp ---\n${tail(sspLog)}`,
      async stop() {
        await killChild(running);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (child) await killChild(child);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await gone;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// The browser half: a cookie jar, redirects, forms.

/** Cookies per host (enough for one test browser talking to 127.0.0.1 peers; paths ignored). */
export class CookieJar {
  private readonly byHost = new Map<string, Map<string, string>>();

  /** The Cookie header for a URL, or undefined. */
  header(url: string): string | undefined {
    const jar = this.byHost.get(new URL(url).hostname);
    if (!jar || jar.size === 0) return undefined;
    return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Takes the Set-Cookie headers of a response to a request for `url`. */
  store(url: string, res: Response): void {
    const host = new URL(url).hostname;
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let jar = this.byHost.get(host);
      if (!jar) this.byHost.set(host, (jar = new Map()));
      const expired = attrs.some((a) => {
        const [k, v = ''] = a.split('=').map((s) => s.trim());
        if (k.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (k.toLowerCase() === 'expires') return Date.parse(v) <= Date.now();
        return false;
      });
      if (expired || value === '' || value === 'deleted') jar.delete(name);
      else jar.set(name, value);
    }
  }

  /** Every cookie name held for a host. */
  names(host = '127.0.0.1'): string[] {
    return [...(this.byHost.get(host)?.keys() ?? [])];
  }

  clear(): void {
    this.byHost.clear();
  }
}

export interface Page {
  /** The URL that answered (after redirects). */
  url: string;
  status: number;
  headers: Headers;
  body: string;
  /** Every URL visited, the first request included. */
  trail: string[];
}

/** One request with the jar's cookies, no redirect following. */
export async function request(
  jar: CookieJar,
  url: string,
  init: { method?: string; form?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  let body: string | undefined;
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  }
  const res = await fetch(url, {
    method: init.method ?? (body ? 'POST' : 'GET'),
    headers,
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(init.timeoutMs ?? 15_000),
  });
  jar.store(url, res);
  return res;
}

/** A request, then every redirect (301/302/303 → GET; 307/308 keep method and body), up to `max`. */
export async function follow(
  jar: CookieJar,
  url: string,
  init: { method?: string; form?: Record<string, string>; max?: number } = {},
): Promise<Page> {
  const trail = [url];
  let current = url;
  let method = init.method;
  let form = init.form;
  for (let hops = 0; ; hops++) {
    const res = await request(jar, current, { method, form });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.arrayBuffer();
      if (hops >= (init.max ?? 20)) throw new Error(`too many redirects from ${url}`);
      current = new URL(location, current).toString();
      trail.push(current);
      if (res.status !== 307 && res.status !== 308) {
        method = 'GET';
        form = undefined;
      }
      continue;
    }
    return { url: current, status: res.status, headers: res.headers, body: await res.text(), trail };
  }
}

export interface ParsedForm {
  /** Absolute action URL (resolved against the page's URL). */
  action: string;
  method: string;
  /** Named input controls with their values (first value wins; type=submit/checkbox ignored). */
  fields: Record<string, string>;
  /** Every named control, in order (includes password, submit and select controls). */
  names: string[];
}

/** HTML attribute-value entities: named ones SimpleSAMLphp emits and every numeric one. */
export function decodeHtml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|quot|amp|lt|gt|apos);/gi, (_, e: string) => {
    const l = e.toLowerCase();
    if (l.startsWith('#x')) return String.fromCodePoint(parseInt(l.slice(2), 16));
    if (l.startsWith('#')) return String.fromCodePoint(parseInt(l.slice(1), 10));
    return ({ quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" } as Record<string, string>)[l];
  });
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  if (!m) return undefined;
  return decodeHtml(m[1] ?? m[2] ?? m[3] ?? '');
}

/** Every <form> of a page. */
export function parseForms(html: string, pageUrl: string): ParsedForm[] {
  const out: ParsedForm[] = [];
  const re = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    const open = `<form ${m[1]}>`;
    const fields: Record<string, string> = {};
    const names: string[] = [];
    for (const c of m[2].matchAll(/<(input|button|select|textarea)\b[^>]*>/gi)) {
      const name = attr(c[0], 'name');
      if (!name) continue;
      names.push(name);
      if (c[1].toLowerCase() !== 'input') continue;
      const type = (attr(c[0], 'type') ?? 'text').toLowerCase();
      if (['submit', 'checkbox', 'radio', 'button', 'image'].includes(type)) continue;
      if (!(name in fields)) fields[name] = attr(c[0], 'value') ?? '';
    }
    out.push({
      action: new URL(attr(open, 'action') ?? '', pageUrl).toString(),
      method: (attr(open, 'method') ?? 'get').toLowerCase(),
      fields,
      names,
    });
  }
  return out;
}

/** SimpleSAMLphp's username/password form on a page, or undefined. */
export function findLoginForm(page: Page): ParsedForm | undefined {
  return parseForms(page.body, page.url).find((f) => f.names.includes('username') && f.names.includes('password'));
}

/** The auto-submitting POST form that carries a protocol answer (the form holding all of `names`). */
export function findPostForm(page: Page, names: string[]): ParsedForm | undefined {
  return parseForms(page.body, page.url).find((f) => f.method === 'post' && names.every((n) => n in f.fields));
}

/** Posts the login form with a username and password and follows the redirects. */
export async function submitLogin(jar: CookieJar, page: Page, username: string, password: string): Promise<Page> {
  const form = findLoginForm(page);
  if (!form) throw new Error(`no login form at ${page.url} (status ${page.status})`);
  return follow(jar, form.action, { method: 'POST', form: { ...form.fields, username, password } });
}

export interface IdpAnswer {
  /** The page holding the auto-POST form. */
  page: Page;
  form: ParsedForm;
  /** Whether a login form was shown on the way (false when the SSO session answered). */
  prompted: boolean;
}

/**
 * A sign-in at SimpleSAMLphp: GET `startUrl` (the IdP's SSO / passive endpoint with the
 * request), log in if it asks, and return the auto-POST form holding `answerNames`
 * (`['SAMLResponse']` or `['wa', 'wresult', 'wctx']`). The form is not submitted.
 */
export async function signInAtIdp(
  jar: CookieJar,
  startUrl: string,
  user: { username: string; password: string },
  answerNames: string[],
): Promise<IdpAnswer> {
  let page = await follow(jar, startUrl);
  let prompted = false;
  if (findLoginForm(page)) {
    prompted = true;
    page = await submitLogin(jar, page, user.username, user.password);
  }
  const form = findPostForm(page, answerNames);
  if (!form) {
    const again = findLoginForm(page) ? ' (the login form again: wrong password?)' : '';
    const title = /<title>([^<]*)<\/title>/i.exec(page.body)?.[1]?.trim() ?? '';
    throw new Error(`no form with ${answerNames.join(', ')} at ${page.url} (status ${page.status}, page "${decodeHtml(title)}")${again}`);
  }
  return { page, form, prompted };
}

/** Posts an auto-POST form (e.g. the IdP's answer to the SP) as a browser would, following redirects. */
export function submitForm(jar: CookieJar, form: ParsedForm): Promise<Page> {
  return follow(jar, form.action, { method: form.method === 'post' ? 'POST' : 'GET', form: form.fields });
}

// ---------------------------------------------------------------------------------------------
// Requests an SP would send (for testing the peer without Fedbridge).

export interface AuthnRequestOptions {
  ssoUrl: string;
  /** The SP's entity ID (the Issuer). */
  entityId: string;
  acsUrl: string;
  relayState?: string;
  id?: string;
  forceAuthn?: boolean;
}

/** A minimal unsigned SAML 2.0 AuthnRequest, HTTP-Redirect binding (deflate, base64, URL-encode). */
export function authnRequestUrl(o: AuthnRequestOptions): { url: string; id: string; xml: string } {
  const id = o.id ?? `_${randomBytes(16).toString('hex')}`;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const xml =
    `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"` +
    ` ID="${esc(id)}" Version="2.0" IssueInstant="${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}"` +
    ` Destination="${esc(o.ssoUrl)}" AssertionConsumerServiceURL="${esc(o.acsUrl)}"` +
    ` ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"${o.forceAuthn ? ' ForceAuthn="true"' : ''}>` +
    `<saml:Issuer>${esc(o.entityId)}</saml:Issuer></samlp:AuthnRequest>`;
  const url = new URL(o.ssoUrl);
  url.searchParams.set('SAMLRequest', deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'));
  if (o.relayState !== undefined) url.searchParams.set('RelayState', o.relayState);
  return { url: url.toString(), id, xml };
}

/** A WS-Federation sign-in request to a passive endpoint. */
export function wsfedSignInUrl(o: { passiveEndpoint: string; realm: string; wreply?: string; wctx?: string }): string {
  const url = new URL(o.passiveEndpoint);
  url.searchParams.set('wa', 'wsignin1.0');
  url.searchParams.set('wtrealm', o.realm);
  if (o.wreply !== undefined) url.searchParams.set('wreply', o.wreply);
  if (o.wctx !== undefined) url.searchParams.set('wctx', o.wctx);
  return url.toString();
}
