/**
 * The admin commands (README, Operating it): `tenant`, `idp test`, `invitations`, `audit` talk to a
 * running service's admin API (README, The sign-in flow, `/admin/api/v1`) with `--server URL` (or
 * FEDBRIDGE_SERVER) and the admin token from `--token` (or FEDBRIDGE_ADMIN_TOKEN).
 *
 * A server without an endpoint answers 404; the CLI then reads the server's OpenAPI document
 * to tell "this server has no such endpoint" (exit 2) from "no such tenant/invitation" (exit 1).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { isLoopbackHost } from '../config/urls.js';
import { substituteEnv } from '../config/load.js';
import type { CliIO } from './io.js';
import { wholeNumber } from './link.js';

/** A refusal with its exit code: 2 for usage and missing server features, 1 for the rest. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliFailure';
  }
}

/** Text from a server or a token, safe to print on a terminal: no control characters, bounded. */
export function printable(s: string, max = 500): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

const API = '/admin/api/v1';

interface AdminOptions {
  server?: string;
  token?: string;
}

interface Target {
  base: string;
  token: string;
}

function target(o: AdminOptions, io: CliIO): Target {
  const server = o.server ?? (io.env.FEDBRIDGE_SERVER || undefined);
  const token = o.token ?? (io.env.FEDBRIDGE_ADMIN_TOKEN || undefined);
  if (!server) throw new CliFailure('needs the service: --server URL or FEDBRIDGE_SERVER', 2);
  if (!token) throw new CliFailure('needs the admin token: FEDBRIDGE_ADMIN_TOKEN or --token', 2);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new CliFailure(`--server ${printable(server, 200)} is not a URL`, 2);
  }
  // The admin token travels in a header: never in clear text beyond this machine.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new CliFailure(`--server must be an https:// URL (http:// only on a loopback host), not ${url.protocol}`, 2);
  }
  return { base: url.href.replace(/\/+$/, ''), token };
}

interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path as the OpenAPI document names it, e.g. `/tenants/{id}`. */
  template: string;
  params?: Record<string, string>;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** Sent as X-Request-Id: the call's audit event carries it (audit tail skips its own). */
  requestId?: string;
}

async function send(t: Target, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliFailure(`cannot reach ${t.base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, 1);
  }
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function errorOf(body: unknown): string {
  const b = body as { error?: unknown; error_description?: unknown } | null;
  const parts = [b?.error, b?.error_description].filter((x): x is string => typeof x === 'string');
  return parts.length ? printable(parts.join(': ')) : 'no detail';
}

/** Does the server's OpenAPI document list this operation? null: the server publishes none. */
async function serverHas(t: Target, call: Call): Promise<boolean | null> {
  const res = await send(t, `${t.base}${API}/openapi.json`, { headers: { accept: 'application/json' } });
  if (!res.ok) return null;
  const doc = (await readJson(res)) as { paths?: Record<string, Record<string, unknown>> } | null;
  return Boolean(doc?.paths?.[call.template]?.[call.method.toLowerCase()]);
}

async function adminCall(t: Target, call: Call): Promise<unknown> {
  const path = call.template.replace(/\{(\w+)\}/g, (_m, k: string) => encodeURIComponent(call.params?.[k] ?? ''));
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) q.set(k, v);
  const url = `${t.base}${API}${path}${q.size ? `?${q}` : ''}`;
  const res = await send(t, url, {
    method: call.method,
    headers: {
      authorization: `Bearer ${t.token}`,
      accept: 'application/json',
      ...(call.requestId ? { 'x-request-id': call.requestId } : {}),
      ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: call.body !== undefined ? JSON.stringify(call.body) : undefined,
  });
  const body = await readJson(res);
  if (res.ok) return body;
  const endpoint = `${call.method} ${API}${call.template}`;
  if (res.status === 401) throw new CliFailure(`${t.base} refused the admin token (401)`, 1);
  if (res.status === 404 || res.status === 405) {
    const has = await serverHas(t, call);
    if (has === null) throw new CliFailure(`${t.base} has no admin API (it answers 404; is admin.token configured there?)`, 2);
    if (!has) throw new CliFailure(`not available on this server (needs admin API ${endpoint})`, 2);
  }
  throw new CliFailure(`${endpoint}: ${res.status} ${errorOf(body)}`, 1);
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** A list answer: a bare array, or the array under `key` (with paging fields beside it). */
function listOf(body: unknown, key: string): unknown[] | null {
  if (Array.isArray(body)) return body;
  const v = (body as Record<string, unknown> | null)?.[key];
  return Array.isArray(v) ? v : null;
}

type Exit = (code: number) => void;

function adminCommand(parent: Command, name: string, description: string): Command {
  return parent
    .command(name)
    .description(description)
    .option('--server <url>', 'the running service (default: FEDBRIDGE_SERVER)')
    .option('--token <token>', 'the admin token (default: FEDBRIDGE_ADMIN_TOKEN; the variable keeps it out of the process list)');
}

export function addAdminCommands(program: Command, io: CliIO, exit: Exit): void {
  const tenant = program.command('tenant').description('tenants of a running service (admin API)');
  adminCommand(tenant, 'list', 'list the tenants (those from the config file are read-only)').action(async (o: AdminOptions) => {
    io.stdout(json(await adminCall(target(o, io), { method: 'GET', template: '/tenants' })));
  });
  adminCommand(tenant, 'show', 'show one tenant (secrets are never returned)')
    .argument('<id>', 'the tenant id')
    .action(async (id: string, o: AdminOptions) => {
      io.stdout(json(await adminCall(target(o, io), { method: 'GET', template: '/tenants/{id}', params: { id } })));
    });
  adminCommand(tenant, 'add', "add a tenant from a YAML or JSON file in the config file's tenant shape (${ENV} substituted)")
    .argument('<file>', 'the tenant (one entry of tenants: in the config file)')
    .action(async (file: string, o: AdminOptions) => {
      const t = target(o, io);
      let body: unknown;
      try {
        const text = readFileSync(file, 'utf8');
        body = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
      } catch (err) {
        throw new CliFailure(`cannot read the tenant from ${file}: ${(err as Error).message}`, 1);
      }
      // Secrets stay out of the file as in the config file: ${ENV_NAME} is substituted here.
      const problems: string[] = [];
      body = substituteEnv(body, io.env, [], problems);
      if (problems.length) throw new CliFailure(`${file}: ${problems.join('; ')}`, 1);
      io.stdout(json(await adminCall(t, { method: 'POST', template: '/tenants', body })));
    });
  adminCommand(tenant, 'remove', 'remove a tenant created through the admin API')
    .argument('<id>', 'the tenant id')
    .action(async (id: string, o: AdminOptions) => {
      await adminCall(target(o, io), { method: 'DELETE', template: '/tenants/{id}', params: { id } });
      io.stdout(`removed tenant ${printable(id, 100)}\n`);
    });

  const idp = program.command('idp').description("a tenant's upstream IdP (admin API)");
  adminCommand(idp, 'test', "check a tenant's IdP: discovery or metadata reachable, certificates, clock skew (exit 1 when a check fails)")
    .argument('<tenant>', 'the tenant id')
    .action(async (id: string, o: AdminOptions) => {
      const r = (await adminCall(target(o, io), { method: 'POST', template: '/tenants/{id}/idp/test', params: { id } })) as {
        ok?: unknown;
        findings?: Array<{ check?: unknown; ok?: unknown; detail?: unknown; warning?: unknown }>;
      } | null;
      if (!r || !Array.isArray(r.findings)) {
        io.stdout(json(r));
        return exit(1);
      }
      for (const f of r.findings) {
        const mark = f.ok !== true ? 'FAIL' : f.warning === true ? 'WARN' : 'ok  ';
        io.stdout(`${mark}  ${printable(String(f.check))}${f.detail ? `: ${printable(String(f.detail))}` : ''}\n`);
      }
      exit(r.ok === true ? 0 : 1);
    });

  const inv = program.command('invitations').description('enrollment invitations of a running service (admin API)');
  adminCommand(inv, 'create', 'create a single-use invitation, print its ms-device-enrollment: deep link')
    .requiredOption('--tenant <id>', 'the tenant')
    .requiredOption('--user <upn>', "the user's UPN")
    .option('--ownership <n>', 'device ownership: 1 unknown, 2 personal, 3 corporate')
    .option('--ttl <seconds>', 'lifetime of the invitation')
    .option('--servername <url>', 'the MDM discovery server (default: the service decides)')
    .action(async (o: AdminOptions & { tenant: string; user: string; ownership?: string; ttl?: string; servername?: string }) => {
      const t = target(o, io);
      const body = {
        tenant: o.tenant,
        upn: o.user,
        ownership: wholeNumber('ownership', o.ownership),
        ttlSeconds: wholeNumber('ttl', o.ttl),
        servername: o.servername,
      };
      const r = (await adminCall(t, { method: 'POST', template: '/invitations', body })) as {
        id?: string;
        link?: string;
        upn?: string;
        tenant?: string;
        expiresAt?: string;
      } | null;
      if (typeof r?.link !== 'string') throw new CliFailure(`${t.base} answered without a link`, 1);
      io.stdout(`${printable(r.link, 4096)}\n`);
      io.stderr(`invitation ${printable(String(r.id))} for ${printable(String(r.upn))} (tenant ${printable(String(r.tenant))}), single use, expires ${printable(String(r.expiresAt))}\n`);
    });
  adminCommand(inv, 'list', 'list the live invitations, newest first (without their links: only their hashes are stored)')
    .option('--tenant <id>', 'only this tenant')
    .option('--limit <n>', 'at most this many (default 100)')
    .action(async (o: AdminOptions & { tenant?: string; limit?: string }) => {
      const limit = wholeNumber('limit', o.limit);
      const query = { tenant: o.tenant, limit: limit === undefined ? undefined : String(limit) };
      io.stdout(json(await adminCall(target(o, io), { method: 'GET', template: '/invitations', query })));
    });
  adminCommand(inv, 'revoke', 'revoke an invitation (its deep link stops working)')
    .argument('<id>', 'the invitation id')
    .action(async (id: string, o: AdminOptions) => {
      await adminCall(target(o, io), { method: 'DELETE', template: '/invitations/{id}', params: { id } });
      io.stdout(`revoked invitation ${printable(id, 100)}\n`);
    });

  const audit = program.command('audit').description('the audit log of a running service (admin API)');
  adminCommand(audit, 'tail', 'print the newest audit events as JSON lines, oldest first; --follow keeps printing new ones')
    .option('--limit <n>', 'how many events', '50')
    .option('--type <type>', 'only events of this type')
    .option('--tenant <id>', 'only events of this tenant')
    .option('-f, --follow', 'keep polling for new events until interrupted (Ctrl-C)')
    .option('--interval <seconds>', 'seconds between polls with --follow', '2')
    .action(async (o: AdminOptions & { limit: string; type?: string; tenant?: string; follow?: boolean; interval: string }) => {
      const limit = wholeNumber('limit', o.limit)!;
      const interval = wholeNumber('interval', o.interval)!;
      if (limit < 1 || limit > 1000) throw new CliFailure('--limit must be 1 to 1000', 2);
      if (interval < 1) throw new CliFailure('--interval must be at least 1 second', 2);
      const t = target(o, io);
      const tail = new AuditTail(t, { type: o.type, tenant: o.tenant });
      const first = await tail.newest(limit, o.follow === true);
      if (first === null) return;
      // The API answers newest first; a tail reads oldest first, like a log.
      for (const e of [...first].reverse()) io.stdout(`${JSON.stringify(e)}\n`);
      if (!o.follow) return;
      const signal = (io as CliIO & { signal?: AbortSignal }).signal;
      while (!signal?.aborted) {
        await sleep(interval * 1000, signal);
        if (signal?.aborted) break;
        try {
          for (const e of await tail.since()) io.stdout(`${JSON.stringify(e)}\n`);
        } catch (err) {
          // A service that restarts or a network hiccup: say so and keep following; anything else ends it.
          if (!(err instanceof CliFailure) || !/^cannot reach |: 5\d\d /.test(err.message)) throw err;
          io.stderr(`fedbridge audit tail: ${err.message} (retrying)\n`);
        }
      }
    });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

interface TailEvent {
  id: string;
  at: string;
  type?: string;
  requestId?: string | null;
}

/**
 * `audit tail --follow` (docs/admin-api.md, Audit): each poll asks for the events since the newest
 * one printed, less a margin for events written late (instances write their audit in batches), and
 * pages through them with the cursor; events already printed are skipped by id. The tail's own
 * queries carry a request id of its own and are left out of what it prints.
 */
export class AuditTail {
  /** Events up to this much older than the newest one printed are looked at again. */
  static readonly LATE_MS = 10_000;
  private readonly seen = new Map<string, number>();
  private newestAt = 0;
  private readonly prefix = `fedbridge-cli-tail-${Math.random().toString(36).slice(2, 10)}`;
  private calls = 0;

  constructor(
    private readonly t: Target,
    private readonly filters: { type?: string; tenant?: string },
  ) {}

  private async page(query: Record<string, string | undefined>): Promise<{ events: TailEvent[]; nextCursor: string | null } | null> {
    const body = await adminCall(this.t, {
      method: 'GET',
      template: '/audit',
      query: { ...query, type: this.filters.type, tenant: this.filters.tenant },
      requestId: `${this.prefix}-${++this.calls}`,
    });
    const events = listOf(body, 'events') as TailEvent[] | null;
    if (!events) return null;
    const next = (body as { nextCursor?: unknown }).nextCursor;
    return { events, nextCursor: typeof next === 'string' ? next : null };
  }

  private mine(e: TailEvent): boolean {
    return e.type === 'admin.queryAudit' && typeof e.requestId === 'string' && e.requestId.startsWith(`${this.prefix}-`);
  }

  private remember(events: TailEvent[]): TailEvent[] {
    const fresh: TailEvent[] = [];
    for (const e of events) {
      if (typeof e?.id !== 'string' || this.seen.has(e.id)) continue;
      const at = Date.parse(e.at);
      this.seen.set(e.id, Number.isFinite(at) ? at : this.newestAt);
      if (Number.isFinite(at) && at > this.newestAt) this.newestAt = at;
      if (!this.mine(e)) fresh.push(e);
    }
    for (const [id, at] of this.seen) if (at < this.newestAt - AuditTail.LATE_MS) this.seen.delete(id);
    return fresh;
  }

  /**
   * The newest `limit` events (newest first), or null when the server answered something else.
   * With `follow`, the older events of the look-back window count as printed, so the first poll
   * does not print what --limit left out.
   */
  async newest(limit: number, follow = false): Promise<TailEvent[] | null> {
    const p = await this.page({ limit: String(limit) });
    if (!p) return null;
    // Printed as the server answered them; remembered for --follow.
    const shown = p.events;
    this.remember(p.events);
    if (follow && this.newestAt > 0) {
      const upTo = this.newestAt;
      for (const e of await this.window()) {
        const at = Date.parse(e.at);
        if (typeof e?.id === 'string' && Number.isFinite(at) && at <= upTo) this.seen.set(e.id, at);
      }
    }
    return shown;
  }

  /** Every event of the look-back window (newest first), page by page with the cursor. */
  private async window(): Promise<TailEvent[]> {
    const since = String(Math.max(0, this.newestAt - AuditTail.LATE_MS));
    const all: TailEvent[] = [];
    let cursor: string | undefined;
    do {
      const p = await this.page({ since, limit: '500', cursor });
      if (!p) break;
      all.push(...p.events);
      cursor = p.nextCursor ?? undefined;
    } while (cursor);
    return all;
  }

  /** Events not printed yet, oldest first. */
  async since(): Promise<TailEvent[]> {
    return this.remember(await this.window()).reverse();
  }
}
