/**
 * The tenant directory (src/tenants/types.ts; docs/admin-api.md "Tenants", docs/operations.md
 * "Hot reload"). Config-file tenants and store tenants merged into one immutable Snapshot with
 * an upstream per tenant; every change (a reload of the file, a store change seen by the
 * one-second poll, a write through this instance's API) builds a new snapshot and swaps it in
 * whole. Upstreams of tenants that did not change are kept; the others are closed after a grace
 * period, so a request that took the old snapshot finishes with it.
 */
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config/load.js';
import type { TenantConfig } from '../config/schema.js';
import { badRequest, conflict, FedbridgeError, notFound } from '../errors.js';
import type { Store, StoredTenant, TenantLogo } from '../store/types.js';
import type { Upstream } from '../upstreams/types.js';
import type { Snapshot, TenantDirectory, TenantEntry } from './types.js';
import { checkTenantDoc } from './validate.js';
import { usableStoreTenants } from './stored.js';
import { keepSecrets, stripSecrets } from './secrets.js';
import { checkLogo } from './logo.js';
import { pinRestartSettings } from './reload.js';

export interface DirectoryOptions {
  /** The validated configuration the service starts with. */
  config: Config;
  store: Store;
  log: Logger;
  /** Builds one tenant's upstream (src/service.ts: shared HTTP client, breakers, keys). Throws when it cannot start. */
  makeUpstream(tenant: TenantConfig, config: Config): Upstream;
  /** Reads and validates the config file again (throws ConfigError); absent in demo mode. */
  loadFile?: () => Config;
  /** Upstream kinds of this build (store tenants of another kind are skipped). */
  kinds?: readonly string[];
  /** How long a replaced upstream stays open for requests that hold the old snapshot (default 60 s). */
  graceMs?: number;
  /** Store poll interval (default 1000 ms; 0: no poller, tests call refresh()). */
  pollMs?: number;
  /** Awaited with each new snapshot before it is served (src/service.ts: the pages' uploaded logos, docs/branding.md); must not throw. */
  beforeServe?: (snapshot: Snapshot) => Promise<void>;
}

interface Built {
  snapshot: Snapshot;
  /** tenant id → the document publicDoc strips (stored doc as written, or the file tenant). */
  docs: Map<string, Record<string, unknown>>;
  /** upstream key → upstream, for reuse by the next build. */
  byKey: Map<string, Upstream>;
}

const DEFAULT_GRACE_MS = 60_000;
const DEFAULT_POLL_MS = 1000;

/** What an upstream is built from: a change here needs a new upstream; branding and audience do not. */
function upstreamKey(t: TenantConfig, config: Config): string {
  return JSON.stringify([config.server.publicUrl, config.keys.dir, t.id, t.displayName, t.domains, t.policy, t.idp]);
}

/** 412 precondition_failed: the If-Match version is not the stored one (docs/admin-api.md, Concurrent edits). */
function versionMismatch(): FedbridgeError {
  return new FedbridgeError(412, 'precondition_failed', 'the tenant was changed since that version was read (If-Match): read it again, then write');
}

/** 400 invalid_request; `problems` keeps each one (`path: message`, path relative to the tenant). */
function problemsError(problems: string[]) {
  return Object.assign(badRequest('invalid_request', problems.join('; ')), { problems });
}

export class Directory implements TenantDirectory {
  private readonly store: Store;
  private readonly log: Logger;
  private readonly opts: DirectoryOptions;
  private fileConfig: Config;
  private stored: StoredTenant[] = [];
  private revision: number | null = null;
  /** Logos read since the store's revision last changed (a logo upload bumps it). */
  private logos = new Map<string, Promise<TenantLogo | null>>();
  private built!: Built;
  private generation = 0;
  /** Upstreams built ahead (by a write's check) for the next build to take. */
  private prebuilt = new Map<string, Upstream>();
  private retiring = new Set<{ timer: NodeJS.Timeout; upstreams: Upstream[] }>();
  private chain: Promise<unknown> = Promise.resolve();
  private poller: NodeJS.Timeout | null = null;
  private polling = false;
  private pollFailed = false;
  private closed = false;
  /** Store tenants skipped by the last build, as [id, version, reason]: each is logged once, not at every rebuild. */
  private loggedSkips = new Set<string>();

  private constructor(opts: DirectoryOptions) {
    this.opts = opts;
    this.store = opts.store;
    this.log = opts.log;
    this.fileConfig = opts.config;
  }

  /**
   * Builds the first snapshot. A config-file tenant whose upstream cannot start is a ConfigError
   * (as before); a store that cannot be read yet leaves the file tenants only (the poll retries).
   */
  static async open(opts: DirectoryOptions): Promise<Directory> {
    const d = new Directory(opts);
    try {
      await d.readStore();
    } catch (err) {
      d.log.error({ err }, 'store tenants could not be read at start-up; serving config-file tenants, retrying every second');
      d.revision = null;
    }
    const { built, problems, created } = d.build(d.fileConfig, d.stored, new Map());
    if (problems.length) {
      for (const u of created) u.close?.();
      throw new ConfigError(problems, opts.config.source);
    }
    await opts.beforeServe?.(built.snapshot);
    d.built = built;
    const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
    if (pollMs > 0) {
      d.poller = setInterval(() => void d.poll(), pollMs);
      d.poller.unref();
    }
    return d;
  }

  current(): Snapshot {
    return this.built.snapshot;
  }

  publicDoc(id: string): Record<string, unknown> | null {
    const doc = this.built.docs.get(id);
    return doc ? stripSecrets(doc) : null;
  }

  async create(doc: unknown, now: number): Promise<TenantEntry> {
    const tenant = this.judge(doc);
    this.refuseFileClash(tenant);
    this.prebuild(tenant);
    // Stored with its domains as compared (lower case), so it reads back as it is served.
    const result = await this.store.createTenant({ id: tenant.id, doc: { ...(doc as Record<string, unknown>), domains: tenant.domains }, domains: tenant.domains }, now);
    if (result === 'id_taken') throw conflict('conflict', `tenant id ${tenant.id} is taken`);
    if (result === 'domain_taken') throw conflict('conflict', this.domainClash(tenant, tenant.id) ?? 'a domain of this tenant belongs to another tenant');
    await this.refreshAfterWrite();
    return this.entryAfterWrite(tenant, 1, now);
  }

  async replace(id: string, doc: unknown, now: number, ifVersion?: number): Promise<TenantEntry> {
    this.refuseFileTenant(id);
    const stored = (await this.store.listTenants()).find((t) => t.id === id);
    if (!stored) throw notFound('unknown_tenant', 'no such tenant');
    if (ifVersion !== undefined && stored.version !== ifVersion) throw versionMismatch();
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw problemsError(['(root): must be a JSON object (a tenant as in the config file)']);
    const written = doc as Record<string, unknown>;
    if (written.id !== undefined && written.id !== id) throw problemsError([`id: must be ${JSON.stringify(id)}, the id in the address (a tenant's id cannot change)`]);
    // docs/admin-api.md: a secret the body leaves out keeps its stored value.
    const merged = keepSecrets({ ...written, id }, stored.doc) as Record<string, unknown>;
    const tenant = this.judge(merged);
    this.refuseFileClash(tenant);
    this.prebuild(tenant);
    // The store checks ifVersion again in the write's own atomic step: of two writers that read one version, one wins.
    const result = await this.store.updateTenant({ id, doc: { ...merged, domains: tenant.domains }, domains: tenant.domains }, now, ifVersion);
    if (result === 'not_found') throw notFound('unknown_tenant', 'no such tenant');
    if (result === 'version_mismatch') throw versionMismatch();
    if (result === 'domain_taken') throw conflict('conflict', this.domainClash(tenant, id) ?? 'a domain of this tenant belongs to another tenant');
    await this.refreshAfterWrite();
    return this.entryAfterWrite(tenant, stored.version + 1, now);
  }

  async remove(id: string, ifVersion?: number): Promise<void> {
    this.refuseFileTenant(id);
    const result = await this.store.deleteTenant(id, ifVersion);
    if (result === 'version_mismatch') throw versionMismatch();
    if (!result) throw notFound('unknown_tenant', 'no such tenant');
    await this.refreshAfterWrite();
  }

  async setLogo(id: string, contentType: string, bytes: Buffer): Promise<TenantLogo> {
    if (!this.current().tenants.has(id)) throw notFound('unknown_tenant', 'no such tenant');
    const type = checkLogo(contentType, bytes);
    const logo = await this.store.putLogo(id, { contentType: type, bytes });
    await this.refreshAfterWrite();
    return logo;
  }

  async getLogo(id: string): Promise<TenantLogo | null> {
    if (!this.current().tenants.has(id)) return null;
    let logo = this.logos.get(id);
    if (!logo) {
      logo = this.store.getLogo(id);
      this.logos.set(id, logo);
      // A failed read is not remembered.
      logo.catch(() => this.logos.get(id) === logo && this.logos.delete(id));
    }
    return logo;
  }

  reloadFile(): Promise<{ ok: true } | { ok: false; problems: string[] }> {
    return this.exclusive(async () => {
      if (!this.opts.loadFile) return { ok: false as const, problems: ['demo mode: there is no configuration file to reload'] };
      let next: Config;
      try {
        next = this.opts.loadFile();
      } catch (err) {
        const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
        this.refuseReload(problems);
        return { ok: false as const, problems };
      }
      const { config, kept } = pinRestartSettings(this.fileConfig, next);
      for (const k of kept) this.log.warn({ setting: k }, `configuration reload: ${k} changed in the file, but needs a restart; the running value stays`);
      const { built, problems, created } = this.build(config, this.stored, this.built.byKey);
      if (problems.length) {
        for (const u of created) u.close?.();
        this.refuseReload(problems);
        return { ok: false as const, problems };
      }
      for (const w of config.warnings) this.log.warn({ config: config.source }, `configuration warning: ${w}`);
      this.fileConfig = config;
      await this.opts.beforeServe?.(built.snapshot);
      this.swap(built);
      this.log.info({ config: config.source, generation: built.snapshot.generation, tenants: built.snapshot.tenants.size }, 'configuration reloaded');
      return { ok: true as const };
    });
  }

  refresh(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      const before = this.revision;
      await this.readStore();
      if (this.revision === before && this.built) return;
      const { built } = this.build(this.fileConfig, this.stored, this.built.byKey);
      await this.opts.beforeServe?.(built.snapshot);
      this.swap(built);
      this.log.info({ generation: built.snapshot.generation, revision: this.revision }, 'tenants changed in the store: new snapshot');
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    await this.chain.catch(() => undefined);
    for (const r of this.retiring) {
      clearTimeout(r.timer);
      for (const u of r.upstreams) u.close?.();
    }
    this.retiring.clear();
    for (const u of this.prebuilt.values()) u.close?.();
    this.prebuilt.clear();
    for (const u of this.built.byKey.values()) u.close?.();
  }

  // ---------------------------------------------------------------------------------------------

  /** The write is stored: a failed look afterwards is the poll's to repeat, not the caller's error. */
  private async refreshAfterWrite(): Promise<void> {
    try {
      await this.refresh();
    } catch (err) {
      this.log.warn({ err }, 'tenant stored; this instance picks it up at the next poll');
    }
  }

  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      await this.refresh();
      if (this.pollFailed) this.log.info('store tenants readable again');
      this.pollFailed = false;
    } catch (err) {
      // Logged once per outage, not every second; the running snapshot stays.
      if (!this.pollFailed) this.log.error({ err }, 'store tenants could not be read; keeping the running tenants');
      this.pollFailed = true;
    } finally {
      this.polling = false;
    }
  }

  /** Runs one rebuild at a time, in call order. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async readStore(): Promise<void> {
    // Revision first: a change that lands between the two reads is seen again by the next poll.
    const revision = await this.store.tenantsRevision();
    if (revision === this.revision) return;
    const stored = await this.store.listTenants();
    this.stored = stored;
    this.logos = new Map();
    this.revision = revision;
  }

  private refuseReload(problems: string[]): void {
    for (const p of problems) this.log.error({ problem: p }, `configuration reload refused: ${p}`);
    this.log.error({ problems: problems.length }, 'configuration reload refused; the running configuration stays');
  }

  private judge(doc: unknown): TenantConfig {
    const check = checkTenantDoc(doc, this.opts.kinds);
    if (!check.ok) throw problemsError(check.problems);
    return check.tenant;
  }

  private fileTenant(id: string): TenantConfig | undefined {
    return this.fileConfig.tenants.find((t) => t.id === id);
  }

  private refuseFileTenant(id: string): void {
    if (this.fileTenant(id)) throw conflict('conflict', `tenant ${id} comes from the configuration file; change it there`);
  }

  private refuseFileClash(tenant: TenantConfig): void {
    if (this.fileTenant(tenant.id)) throw conflict('conflict', `tenant id ${tenant.id} belongs to a tenant of the configuration file`);
    for (const d of tenant.domains) {
      const owner = this.fileConfig.tenants.find((t) => t.domains.includes(d));
      if (owner) throw conflict('conflict', `domain ${d} belongs to tenant ${owner.id} (configuration file)`);
    }
  }

  /** Names the tenant that holds one of `tenant`'s domains, as far as this instance knows. */
  private domainClash(tenant: TenantConfig, self: string): string | null {
    for (const d of tenant.domains) {
      const owner = this.stored.find((s) => s.id !== self && s.domains.includes(d));
      if (owner) return `domain ${d} belongs to tenant ${owner.id}`;
    }
    return null;
  }

  /** Builds the upstream now, so a kind that cannot start is a 400 before anything is stored. */
  private prebuild(tenant: TenantConfig): void {
    const key = upstreamKey(tenant, this.fileConfig);
    if (this.built.byKey.has(key) || this.prebuilt.has(key)) return;
    try {
      this.prebuilt.set(key, this.opts.makeUpstream(tenant, this.fileConfig));
    } catch (err) {
      throw problemsError([`idp: ${(err as Error).message}`]);
    }
  }

  private entryAfterWrite(tenant: TenantConfig, version: number, now: number): TenantEntry {
    // As now served; when this instance could not look yet (store hiccup), as this write stored it.
    return this.current().tenants.get(tenant.id) ?? { config: tenant, source: 'store', version, updatedAt: now };
  }

  /**
   * One snapshot from file tenants and store tenants. An invalid or clashing store tenant is
   * logged and skipped; a file tenant whose upstream cannot start is a problem (start-up and
   * reload refuse it).
   */
  private build(fileConfig: Config, stored: StoredTenant[], reuse: Map<string, Upstream>): { built: Built; problems: string[]; created: Upstream[] } {
    const problems: string[] = [];
    const created: Upstream[] = [];
    const entries = new Map<string, TenantEntry>();
    const docs = new Map<string, Record<string, unknown>>();
    const byKey = new Map<string, Upstream>();
    const upstreams = new Map<string, Upstream>();
    const tenants: TenantConfig[] = [];

    const upstreamFor = (t: TenantConfig): Upstream => {
      const key = upstreamKey(t, fileConfig);
      let u = byKey.get(key) ?? reuse.get(key) ?? this.prebuilt.get(key);
      if (!u) {
        u = this.opts.makeUpstream(t, fileConfig);
        created.push(u);
      }
      byKey.set(key, u);
      return u;
    };

    fileConfig.tenants.forEach((t, i) => {
      try {
        upstreams.set(t.id, upstreamFor(t));
      } catch (err) {
        problems.push(`tenants[${i}].idp: ${(err as Error).message}`);
        return;
      }
      entries.set(t.id, { config: t, source: 'file' });
      docs.set(t.id, t as unknown as Record<string, unknown>);
      tenants.push(t);
    });

    // A tenant that stays unusable is logged when first skipped, not again at every rebuild (docs/admin-api.md).
    const skipped = new Set<string>();
    const skip = (s: StoredTenant, why: string) => {
      const key = JSON.stringify([s.id, s.version, why]);
      skipped.add(key);
      if (!this.loggedSkips.has(key)) this.log.error({ tenant: s.id, version: s.version }, `store tenant ${s.id} skipped: ${why}`);
    };
    for (const { stored: s, tenant: t } of usableStoreTenants(fileConfig.tenants, stored, this.opts.kinds, skip)) {
      try {
        upstreams.set(t.id, upstreamFor(t));
      } catch (err) {
        skip(s, `its IdP cannot start: ${(err as Error).message}`);
        continue;
      }
      entries.set(t.id, { config: t, source: 'store', version: s.version, updatedAt: s.updatedAt });
      docs.set(t.id, s.doc);
      tenants.push(t);
    }

    this.loggedSkips = skipped;

    const snapshot: Snapshot = Object.freeze({
      config: Object.freeze({ ...fileConfig, tenants }),
      tenants: entries,
      upstreams,
      generation: ++this.generation,
    });
    return { built: { snapshot, docs, byKey }, problems, created };
  }

  private swap(next: Built): void {
    const old = this.built;
    this.built = next;
    if (!old) return;
    const kept = new Set(next.byKey.values());
    const gone = [...old.byKey.values()].filter((u) => !kept.has(u));
    // Prebuilt upstreams no write used (a write refused by the store) are closed too.
    for (const [key, u] of this.prebuilt) {
      if (!kept.has(u)) gone.push(u);
      this.prebuilt.delete(key);
    }
    if (!gone.length) return;
    const entry = {
      upstreams: gone,
      timer: setTimeout(() => {
        this.retiring.delete(entry);
        for (const u of gone) u.close?.();
      }, this.opts.graceMs ?? DEFAULT_GRACE_MS),
    };
    entry.timer.unref();
    this.retiring.add(entry);
  }
}

export function openDirectory(opts: DirectoryOptions): Promise<Directory> {
  return Directory.open(opts);
}
