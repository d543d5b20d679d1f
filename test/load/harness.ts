/**
 * The load / soak / fault harness (npm run test:load, docs in README "Load and fault tests"):
 * one real oidc-provider (with its own login and consent pages), one redis-server and two
 * Fedbridge instances sharing that Redis and one keys directory, all on 127.0.0.1. The device
 * window is played over HTTP with a cookie jar; the client is the load balancer: every URL of
 * the common publicUrl goes to instance A or B as the window decides (start at one, callback at
 * the other). Every loop is bounded in count and time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Server as NetServer } from 'node:net';
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { createConnection } from 'node:net';
import { pino } from 'pino';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { startService, freePort, TestClock, type TestService } from '../helpers/service.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startOidcProvider, CookieJar, type TestProvider } from '../helpers/oidc-provider.js';
import { forms, hiddenValue } from '../helpers/html.js';
import { buildEnrollEnvelope } from '../../src/soap/build.js';

export const SHORT = process.env.FEDBRIDGE_LOAD === 'short';
export const APPRU = 'ms-app://windows.immersivecontrolpanel';
export const SECRET = 'load-client-secret-0123456789';
export const CLIENT = { id: 'mdm', secret: 'mdm-secret-for-load-tests-0123456789' };
export const AUDIENCE = 'urn:example:mdm';
export const USERS = Array.from({ length: 20 }, (_, i) => ({ login: `user${i}@contoso.com`, password: `pw-${i}` }));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The access log of one instance: one entry per request (path without query, status, server ms). */
export interface AccessLine {
  inst: string;
  path: string;
  status: number;
  ms: number;
  at: number;
}

/** A pino line's time (epoch ms, or the ISO text `fedbridge serve` writes); now if it has none. */
function loggedAt(time: number | string | undefined): number {
  const t = typeof time === 'string' ? Date.parse(time) : time;
  return typeof t === 'number' && Number.isFinite(t) ? t : Date.now();
}

export class AccessLog {
  lines: AccessLine[] = [];
  other: { level: number; msg: string }[] = [];
  logger(inst: string) {
    return pino({ level: 'info' }, { write: (s: string) => this.ingest(inst, s) });
  }
  /** One JSON log line of instance `inst` (in-process logger, or a child's stdout). */
  ingest(inst: string, s: string) {
    let o: { msg: string; url?: string; status?: number; ms?: number; level: number; time?: number | string };
    try {
      o = JSON.parse(s);
    } catch {
      return;
    }
    // Bounded: the soak writes many lines; keep the last 200k.
    if (this.lines.length > 200_000) this.lines.splice(0, 100_000);
    // `at`: when the instance logged it (a child's stdout is buffered up to a second).
    if (o.msg === 'request') this.lines.push({ inst, path: (o.url ?? '').split('?')[0]!, status: o.status ?? 0, ms: o.ms ?? 0, at: loggedAt(o.time) });
    else if (o.level >= 40 && this.other.length < 1000) this.other.push({ level: o.level, msg: o.msg });
  }
  since(t: number) {
    return this.lines.filter((l) => l.at >= t);
  }
}

export function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
const r1 = (n: number) => Math.round(n * 10) / 10;

/** p50/p99 per Fedbridge route as the instances measured them (access log `ms`). */
export function serverSteps(lines: AccessLine[]): Record<string, { n: number; p50: number; p99: number; s5xx: number }> {
  const by = new Map<string, AccessLine[]>();
  for (const l of lines) by.set(l.path, [...(by.get(l.path) ?? []), l]);
  const out: Record<string, { n: number; p50: number; p99: number; s5xx: number }> = {};
  for (const [path, ls] of by) {
    const ms = ls.map((l) => l.ms);
    out[path] = { n: ls.length, p50: r1(pct(ms, 50)), p99: r1(pct(ms, 99)), s5xx: ls.filter((l) => l.status >= 500).length };
  }
  return out;
}

/** Least-squares slope of (t ms, v) in units of v per minute. */
export function slopePerMinute(points: { t: number; v: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mv = points.reduce((a, p) => a + p.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60_000;
}

/**
 * The IdP's http.Server, caught while the helper starts it (the helper keeps it private), so
 * a fault can close it (down), hold its requests (frozen) or answer garbage, and bring the
 * very same provider (same keys, same sessions) back on the same port.
 */
export class IdpControl {
  mode: 'ok' | 'frozen' | 'garbage' = 'ok';
  private held: ServerResponse[] = [];
  private handlers: ((req: IncomingMessage, res: ServerResponse) => void)[] = [];
  constructor(
    public server: HttpServer,
    public port: number,
  ) {
    this.handlers = server.listeners('request') as typeof this.handlers;
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (this.mode === 'frozen') {
        if (this.held.length < 10_000) this.held.push(res);
        return; // never answered while frozen
      }
      if (this.mode === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"issuer": <<<garbage' + '\u0000'.repeat(8));
        return;
      }
      for (const h of this.handlers) h(req, res);
    });
  }
  down(): Promise<void> {
    return new Promise((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }
  up(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }
  /** Ends the freeze: the requests held meanwhile are dropped (their sockets closed). */
  thaw() {
    this.mode = 'ok';
    for (const res of this.held.splice(0)) res.socket?.destroy();
  }
}

async function startIdp(port: number, redirectUri: string): Promise<{ idp: TestProvider; control: IdpControl }> {
  const orig = NetServer.prototype.listen;
  let caught: HttpServer | null = null;
  NetServer.prototype.listen = function (this: NetServer, ...args: unknown[]) {
    if (args[0] === port) caught = this as HttpServer;
    return (orig as (...a: unknown[]) => NetServer).apply(this, args);
  } as typeof orig;
  try {
    const idp = await startOidcProvider({
      port,
      clients: [{ client_id: 'fb-load', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [redirectUri] }],
      users: USERS.map((u, i) => ({ ...u, claims: { email: u.login, groups: [`g${i % 3}`] } })),
    });
    if (!caught) throw new Error('the IdP server was not caught');
    return { idp, control: new IdpControl(caught, port) };
  } finally {
    NetServer.prototype.listen = orig;
  }
}

/** The config both instances load (publicUrl is the same: the address behind the load balancer). */
export function fileFor(o: { publicUrl: string; issuer: string; redisUrl: string; keysDir: string; extra?: Record<string, unknown>; idpTimeoutMs?: number }) {
  return {
    server: { publicUrl: o.publicUrl, trustProxy: true },
    store: { kind: 'redis', url: o.redisUrl },
    keys: { dir: o.keysDir, jwksMaxAgeSeconds: 2 },
    tokens: { ttlSeconds: 600, audience: AUDIENCE },
    enrollmentServers: [CLIENT],
    log: { level: 'info' },
    tenants: [
      {
        id: 'contoso',
        displayName: 'Contoso',
        domains: ['contoso.com'],
        idp: { kind: 'oidc', issuer: o.issuer, clientId: 'fb-load', clientSecret: SECRET, tokenEndpointAuthMethod: 'client_secret_basic', scopes: ['openid', 'profile', 'email'], timeoutMs: o.idpTimeoutMs ?? 3000 },
      },
    ],
    ...o.extra,
  };
}

/** The wall clock (the helper's TestClock stands still unless advanced; a soak needs time to pass). */
function realClock(): TestClock {
  const c = new TestClock();
  c.now = () => Date.now();
  return c;
}

export const ROOT = join(import.meta.dirname, '..', '..');

/**
 * One Fedbridge instance as its own process: `node bin/fedbridge.js serve --config <file>` (the
 * built dist; `npm run build` first), so that its RSS and CPU are its own. Its JSON log lines
 * (stdout) go to `log` as instance `inst`.
 */
export class FedbridgeChild {
  proc!: ChildProcess;
  private tail = '';
  private exited!: Promise<NodeJS.Signals | number | null>;
  readonly url: string;
  constructor(
    readonly port: number,
    readonly configFile: string,
    readonly dir: string,
    private readonly log: AccessLog | null,
    readonly inst: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  static async start(o: { config: Record<string, unknown>; port?: number; log?: AccessLog; inst: string }): Promise<FedbridgeChild> {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('run npm run build first (the child runs dist)');
    const dir = mkdtempSync(join(tmpdir(), 'fedbridge-load-child-'));
    const configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, stringify(o.config));
    const child = new FedbridgeChild(o.port ?? (await freePort()), configFile, dir, o.log ?? null, o.inst);
    await child.spawn();
    return child;
  }

  /** Starts the process (again, after a kill: same port, same config, same files). */
  async spawn(): Promise<void> {
    this.proc = spawn(process.execPath, [join(ROOT, 'bin', 'fedbridge.js'), 'serve', '--config', this.configFile], {
      cwd: this.dir,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.proc.stdout!.on('data', (c: Buffer) => {
      const text = partial + c.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (this.log) this.log.ingest(this.inst, line);
        if (!line.includes('"msg":"request"')) this.tail = (this.tail + line + '\n').slice(-20_000);
      }
    });
    this.proc.stderr!.on('data', (c: Buffer) => (this.tail = (this.tail + c.toString()).slice(-20_000)));
    this.exited = new Promise((res) => this.proc.on('exit', (code, sig) => res(sig ?? code)));
    await waitReady(this.url, 30_000).catch((e) => {
      throw new Error(`${e}\n${this.tail}`);
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Resident set size in MiB (/proc/<pid>/status VmRSS). */
  rssMiB(): number {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  }

  output(): string {
    return this.tail;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<NodeJS.Signals | number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }

  async close(): Promise<void> {
    await this.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The test IdP as its own process (idp.child.mjs): same pages, clients and users as startIdp. */
async function startIdpChild(port: number, redirectUri: string): Promise<TestProvider> {
  const config = {
    port,
    clients: [{ client_id: 'fb-load', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [redirectUri] }],
    users: USERS.map((u, i) => ({ ...u, claims: { email: u.login, groups: [`g${i % 3}`] } })),
  };
  const proc = spawn(process.execPath, [join(import.meta.dirname, 'idp.child.mjs'), JSON.stringify(config)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-10_000)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`test IdP did not start: ${out}`)), 30_000);
    proc.stdout!.on('data', (c: Buffer) => {
      if (c.toString().includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`test IdP exited with ${code}: ${out}`));
    });
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    issuer: `http://127.0.0.1:${port}`,
    async close() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Rig {
  redis: TestRedis;
  idp: TestProvider;
  /** Null when the IdP runs as its own process (startRig({ idpChild: true })). */
  idpControl: IdpControl | null;
  /** In-process instances (null when the rig runs them as child processes). */
  a: TestService | null;
  b: TestService | null;
  /** The instances as child processes (startRig({ children: true })). */
  children: { A: FedbridgeChild; B: FedbridgeChild } | null;
  /** The instances by name; a fault test may replace one (e.g. with a child process URL). */
  urls: Record<'A' | 'B', string>;
  publicUrl: string;
  keysDir: string;
  log: AccessLog;
  file: (publicUrl?: string) => Record<string, unknown>;
  close(): Promise<void>;
}

/** Stops a rig's processes in order (a failure does not keep the rest running), then Redis, then drops the keys. */
async function stopRig(parts: ReadonlyArray<{ close(): Promise<unknown> }>, redis: { stop(): Promise<unknown> }, keysDir: string): Promise<void> {
  for (const part of parts) await part.close().catch(() => {});
  await redis.stop().catch(() => {});
  rmSync(keysDir, { recursive: true, force: true });
}

/**
 * `idpTimeoutMs`: the IdP deadline (default 3000 ms, so the fault tests' frozen IdP ends in a 504
 * quickly; the load test uses the config default, 10 s: a busy test IdP is not a dead one).
 */
export async function startRig(opts: { redisArgs?: string[]; extra?: Record<string, unknown>; children?: boolean; idpChild?: boolean; idpTimeoutMs?: number } = {}): Promise<Rig> {
  if (opts.children) return startChildRig(opts);
  const redis = await startRedis({ args: opts.redisArgs });
  const keysDir = mkdtempSync(join(tmpdir(), 'fedbridge-load-keys-'));
  const idpPort = await freePort();
  const issuer = `http://127.0.0.1:${idpPort}`;
  const log = new AccessLog();
  const file = (publicUrl = 'http://127.0.0.1:{{PORT}}') => fileFor({ publicUrl, issuer, redisUrl: redis.url, keysDir, extra: opts.extra, idpTimeoutMs: opts.idpTimeoutMs });
  const a = await startService({ file: file(), log: log.logger('A'), clock: realClock() });
  const publicUrl = a.url;
  const b = await startService({ file: file(publicUrl), log: log.logger('B'), clock: realClock() });
  // As `fedbridge serve` does (src/service.ts watchKeys): pick up `keys rotate` from the shared directory.
  for (const [name, svc] of [['A', a], ['B', b]] as const) svc.service.deps.keys.watch((err) => log.other.push({ level: 50, msg: `${name}: key reload failed: ${err.message}` }));
  const { idp, control } = await startIdp(idpPort, `${publicUrl}/callback/oidc`);
  return {
    redis,
    idp,
    idpControl: control,
    a,
    b,
    children: null,
    urls: { A: a.url, B: b.url },
    publicUrl,
    keysDir,
    log,
    file,
    close: () => stopRig([idp, a, b], redis, keysDir),
  };
}

/** The rig with both instances as child processes (`fedbridge serve`), each with its own RSS and CPU. */
async function startChildRig(opts: { redisArgs?: string[]; extra?: Record<string, unknown>; idpChild?: boolean; idpTimeoutMs?: number }): Promise<Rig> {
  const redis = await startRedis({ args: opts.redisArgs });
  const keysDir = mkdtempSync(join(tmpdir(), 'fedbridge-load-keys-'));
  const idpPort = await freePort();
  const issuer = `http://127.0.0.1:${idpPort}`;
  const log = new AccessLog();
  const portA = await freePort();
  const publicUrl = `http://127.0.0.1:${portA}`;
  const file = (url = publicUrl) => fileFor({ publicUrl: url, issuer, redisUrl: redis.url, keysDir, extra: opts.extra, idpTimeoutMs: opts.idpTimeoutMs });
  const started: FedbridgeChild[] = [];
  try {
    started.push(await FedbridgeChild.start({ config: file(), port: portA, log, inst: 'A' }));
    started.push(await FedbridgeChild.start({ config: file(), log, inst: 'B' }));
  } catch (err) {
    await stopRig(started, redis, keysDir);
    throw err;
  }
  const [A, B] = started as [FedbridgeChild, FedbridgeChild];
  const { idp, control } = opts.idpChild
    ? { idp: await startIdpChild(idpPort, `${publicUrl}/callback/oidc`), control: null }
    : await startIdp(idpPort, `${publicUrl}/callback/oidc`);
  return {
    redis,
    idp,
    idpControl: control,
    a: null,
    b: null,
    children: { A, B },
    urls: { A: A.url, B: B.url },
    publicUrl,
    keysDir,
    log,
    file,
    close: () => stopRig([idp, A, B], redis, keysDir),
  };
}

export type Outcome =
  | { kind: 'token'; token: string; ms: number; steps: Record<string, number> }
  | { kind: 'page'; status: number; code: string | null; retryAfter: string | null; where: string; ms: number; steps: Record<string, number> }
  | { kind: 'error'; message: string; where: string; ms: number; steps: Record<string, number> };

let ipCounter = 0;

/**
 * One device window: GET /auth at `start`, the IdP's login and consent pages, the callback at
 * `finish` (the load balancer's choice). Client-side time of each Fedbridge step in `steps`.
 * `pauseAtCallback` runs between the IdP's redirect and the callback (fault tests).
 */
export async function window(
  rig: Pick<Rig, 'publicUrl' | 'urls'>,
  o: { start: 'A' | 'B'; finish: 'A' | 'B'; user?: number; timeoutMs?: number; pauseAtCallback?: () => Promise<void> },
): Promise<Outcome> {
  const t0 = performance.now();
  const steps: Record<string, number> = {};
  const jar = new CookieJar();
  const ip = `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter++ & 255}`;
  const signal = AbortSignal.timeout(o.timeoutMs ?? 60_000);
  const user = USERS[(o.user ?? ipCounter) % USERS.length]!;
  let where = 'auth';
  // The load balancer: publicUrl → the instance this step goes to.
  const route = (url: string, inst: 'A' | 'B') => (url.startsWith(rig.publicUrl) ? rig.urls[inst] + url.slice(rig.publicUrl.length) : url);
  const go = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, { ...init, signal, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: jar.header(), 'x-forwarded-for': ip } });
    jar.take(res);
    return res;
  };
  const timed = async (name: string, f: () => Promise<Response>) => {
    const s = performance.now();
    const res = await f();
    steps[name] = (steps[name] ?? 0) + (performance.now() - s);
    return res;
  };
  const page = async (res: Response): Promise<Outcome> => {
    const html = await res.text();
    const token = hiddenValue(html, 'wresult');
    if (res.status === 200 && token) return { kind: 'token', token, ms: performance.now() - t0, steps };
    return { kind: 'page', status: res.status, code: /<code>([^<]*)<\/code>/.exec(html)?.[1] ?? null, retryAfter: res.headers.get('retry-after'), where, ms: performance.now() - t0, steps };
  };
  try {
    const authUrl = `${rig.publicUrl}/auth?${new URLSearchParams({ appru: APPRU, login_hint: user.login })}`;
    let res = await timed('fb:auth', () => go(route(authUrl, o.start)));
    if (res.status !== 302) return page(res);
    let url = res.headers.get('location')!;
    where = 'idp';
    res = await go(url);
    for (let i = 0; i < 20; i++) {
      if (res.status >= 300 && res.status < 400) {
        url = new URL(res.headers.get('location')!, url).href;
        if (url.startsWith(`${rig.publicUrl}/callback/`)) {
          await res.arrayBuffer().catch(() => {});
          if (o.pauseAtCallback) await o.pauseAtCallback();
          where = 'callback';
          res = await timed('fb:callback', () => go(route(url, o.finish)));
          return page(res);
        }
        await res.arrayBuffer().catch(() => {});
        res = await go(url);
        continue;
      }
      const html = await res.text();
      const form = forms(html)[0];
      // The IdP's own error page: its OAuth error and description (oidc-provider's page), for the report.
      const idpError = /<strong>error<\/strong>:\s*([\w.-]+)[\s\S]*?<strong>error_description<\/strong>:\s*([^<]{0,80})/.exec(html);
      if (!form) return { kind: 'page', status: res.status, code: idpError ? `${idpError[1]}: ${idpError[2]!.trim()}` : null, retryAfter: res.headers.get('retry-after'), where: `IdP page /${new URL(url).pathname.split('/')[1]}`, ms: performance.now() - t0, steps };
      const action = new URL(form.action || url, url).href;
      const body = new URLSearchParams();
      for (const name of form.names) body.set(name, hiddenValue(html, name) ?? '');
      if (body.has('password')) body.set('password', user.password);
      if (body.has('login')) body.set('login', user.login);
      url = action;
      res = await go(action, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    }
    return { kind: 'error', message: 'no end within 20 steps', where, ms: performance.now() - t0, steps };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { kind: 'error', message: `${e.name}: ${e.cause?.code ?? e.message}`, where, ms: performance.now() - t0, steps };
  }
}

/**
 * `concurrency` workers play windows until `durationMs` has passed or `maxWindows` were
 * started; window i starts at A and ends at B when i is even, the other way when odd.
 */
export async function drive(rig: Pick<Rig, 'publicUrl' | 'urls'>, o: { concurrency: number; durationMs: number; maxWindows: number; timeoutMs?: number }): Promise<Outcome[]> {
  const out: Outcome[] = [];
  const deadline = Date.now() + o.durationMs;
  let started = 0;
  const worker = async () => {
    while (Date.now() < deadline && started < o.maxWindows) {
      const i = started++;
      out.push(await window(rig, { start: i % 2 ? 'B' : 'A', finish: i % 2 ? 'A' : 'B', user: i, timeoutMs: o.timeoutMs }));
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  return out;
}

export function summarize(outs: Outcome[]) {
  const tokens = outs.filter((o): o is Extract<Outcome, { kind: 'token' }> => o.kind === 'token');
  const pages = outs.filter((o): o is Extract<Outcome, { kind: 'page' }> => o.kind === 'page');
  const errors = outs.filter((o): o is Extract<Outcome, { kind: 'error' }> => o.kind === 'error');
  const ms = outs.map((o) => o.ms);
  const stepMs = (k: string) => outs.map((o) => o.steps[k]).filter((v): v is number => v !== undefined);
  const count = (xs: string[]) => Object.fromEntries([...new Set(xs)].map((x) => [x, xs.filter((y) => y === x).length]));
  return {
    windows: outs.length,
    ok: tokens.length,
    pages: count(pages.map((p) => `${p.status} ${p.code} retry-after=${p.retryAfter} at ${p.where}`)),
    errors: count(errors.map((e) => `${e.message} at ${e.where}`)),
    p50: Math.round(pct(ms, 50)),
    p99: Math.round(pct(ms, 99)),
    client: { auth: { p50: r1(pct(stepMs('fb:auth'), 50)), p99: r1(pct(stepMs('fb:auth'), 99)) }, callback: { p50: r1(pct(stepMs('fb:callback'), 50)), p99: r1(pct(stepMs('fb:callback'), 99)) } },
    tokens: tokens.map((t) => t.token),
  };
}

/** Every token verifies against the published JWKS; returns their jti and signing kid. */
export async function verifyAll(rig: Pick<Rig, 'publicUrl' | 'urls'>, tokens: string[], inst: 'A' | 'B' = 'A') {
  const jwks = (await (await fetch(`${rig.urls[inst]}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const keys = createLocalJWKSet(jwks);
  const jtis: string[] = [];
  const kids = new Set<string>();
  let bad = 0;
  for (const t of tokens) {
    try {
      const { payload } = await jwtVerify(t, keys, { issuer: rig.publicUrl, audience: AUDIENCE });
      jtis.push(String(payload.jti));
      kids.add(String(decodeProtectedHeader(t).kid));
    } catch {
      bad++;
      jtis.push(String(decodeJwt(t).jti));
    }
  }
  return { jtis, duplicates: jtis.length - new Set(jtis).size, bad, kids: [...kids] };
}

export async function introspect(url: string, body: Record<string, unknown>): Promise<{ status: number; retryAfter: string | null; json: Record<string, unknown> }> {
  const res = await fetch(`${url}/introspect`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: (await res.json()) as Record<string, unknown> };
}

/** The enrollment server's Enroll: consume the token for `deviceId`. */
export function enroll(url: string, token: string, deviceId: string) {
  return introspect(url, { token: buildEnrollEnvelope({ token, deviceId }), consume: true });
}

/** Enrolls every token once (alternating instances, `parallel` at a time); counts the answers. */
export async function enrollAll(rig: Pick<Rig, 'urls'>, tokens: string[], tag: string, parallel = 16): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  const worker = async () => {
    while (next < tokens.length) {
      const i = next++;
      const r = await enroll(i % 2 ? rig.urls.B : rig.urls.A, tokens[i]!, `${tag}-${i}`);
      const k = r.status === 200 ? (r.json.active ? `active ${r.json.replay}` : `refused ${r.json.error}`) : `${r.status} ${r.json.error}`;
      counts[k] = (counts[k] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return counts;
}

/** One raw Redis command (RESP inline) on 127.0.0.1; the reply as text. */
export function redisCommand(port: number, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    sock.setTimeout(3000, () => {
      sock.destroy();
      reject(new Error('redis timeout'));
    });
    sock.once('error', reject);
    sock.once('connect', () => sock.write(`${cmd}\r\n`));
    sock.on('data', (d) => {
      buf += d.toString();
      const m = /^\$(\d+)\r\n/.exec(buf);
      if ((m && buf.length >= m[0].length + Number(m[1]) + 2) || (!m && buf.endsWith('\r\n') && buf[0] !== '$')) {
        sock.destroy();
        resolve(m ? buf.slice(m[0].length, m[0].length + Number(m[1])) : buf.trim());
      }
    });
  });
}

/** Kills redis-server with SIGKILL (a crash: nothing flushed at exit); restart() brings it back on its dir. */
export async function crashRedis(port: number): Promise<void> {
  const pid = Number(/process_id:(\d+)/.exec(await redisCommand(port, 'INFO server'))?.[1]);
  if (!pid) throw new Error('no redis pid');
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(10);
  }
  throw new Error('redis-server did not die');
}

export async function storeSize(port: number): Promise<{ keys: number; usedMemory: number }> {
  const keys = Number((await redisCommand(port, 'DBSIZE')).replace(/^:/, ''));
  const info = await redisCommand(port, 'INFO memory');
  return { keys, usedMemory: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN) };
}

export async function waitReady(url: string, withinMs: number): Promise<number> {
  const t0 = Date.now();
  for (let i = 0; i < 10_000 && Date.now() - t0 < withinMs; i++) {
    const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false);
    if (ok) return Date.now() - t0;
    await sleep(25);
  }
  throw new Error(`${url} not ready within ${withinMs} ms`);
}

/** Prints a figure line that stands out in vitest's output. */
export function report(title: string, figures: unknown) {
  console.log(`[load] ${title}: ${JSON.stringify(figures)}`);
}
