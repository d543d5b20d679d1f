/**
 * Builds a running service from a validated config: store, keys, upstreams, app.
 * Tests use it with an injected clock and logger; `fedbridge serve` adds the listener.
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type Koa from 'koa';
import type { Config } from './config/load.js';
import { openStore } from './store/index.js';
import { KeyRing, keyTiming } from './tokens/keys.js';
import { createUpstream, upstreamKinds } from './upstreams/registry.js';
import { fetchAnswer } from './upstreams/http.js';
import { CircuitBreakers } from './upstreams/breaker.js';
import { loadConfig } from './config/load.js';
import type { TenantConfig } from './config/schema.js';
import { openDirectory, type Directory } from './tenants/directory.js';
import { watchConfigFile } from './tenants/reload.js';
import type { Upstream } from './upstreams/types.js';
import { AuditQueue } from './observability/audit.js';
import { createMetrics, meteredHttp, meteredStore } from './observability/metrics.js';
import { Views } from './http/views.js';
import { createApp } from './http/app.js';
import { listen } from './http/listen.js';
import { installFastPath } from './http/fastpath.js';
import type { AppDeps, Clock } from './http/deps.js';
import { createLogger, exitOnFatal, flushLogSync } from './log.js';
import { Lifecycle, drain, installDrainGate } from './observability/drain.js';
import { DEMO_BANNER } from './config/demo.js';

export interface ServiceOptions {
  clock?: Clock;
  log?: Logger;
  /** Watch keys.dir for rotations (off in most tests). */
  watchKeys?: boolean;
  /** Environment for re-reading the config file on a reload (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Store tenants poll interval (src/tenants/directory.ts; default 1000 ms). */
  tenantPollMs?: number;
  /** How long a replaced upstream stays open for requests in flight (default 60 s). */
  upstreamGraceMs?: number;
  defaultMetrics?: boolean;
}

export interface Service {
  app: Koa;
  deps: AppDeps;
  /** `draining` turns readiness false (src/observability/drain.ts). */
  lifecycle: Lifecycle;
  /** One circuit per IdP origin, shared by every tenant's upstream (src/upstreams/breaker.ts). */
  breakers: CircuitBreakers;
  close(): Promise<void>;
}

const PURGE_EVERY_MS = 60_000;

export async function createService(config: Config, opts: ServiceOptions = {}): Promise<Service> {
  const clock = opts.clock ?? { now: () => Date.now() };
  const log = opts.log ?? createLogger(config.log.level);
  if (config.demo) log.warn({ demo: true }, DEMO_BANNER);
  for (const warning of config.warnings) log.warn({ config: config.source }, `configuration warning: ${warning}`);

  // Before the store and upstreams: both are counted (docs/operations.md, "Metrics to alert on").
  const metrics = createMetrics(opts.defaultMetrics ?? false);
  const opened = await openStore(config.store, {
    now: clock.now(),
    clock: clock.now,
    onStateLost: (detail) => log.error({ store: config.store.kind }, `store lost its state: ${detail}`),
  });
  const store = meteredStore(opened, metrics);
  // docs/operations.md: a store that forgets on restart fails closed, but people must sign in again.
  store.durabilityWarnings().then(
    (warnings) => warnings.forEach((w) => log.warn({ store: config.store.kind }, `store durability: ${w}`)),
    (err) => log.warn({ err }, 'store durability could not be checked'),
  );
  const keys = await KeyRing.open(
    config.keys.dir,
    config.keys.algorithm,
    keyTiming(config),
    clock.now(),
    clock.now,
  );
  if (opts.watchKeys) keys.watch((err) => log.error({ err }, 'key reload failed'));

  // Real time, not the injected clock: an IdP recovers in wall-clock time.
  const breakers = new CircuitBreakers();
  const http = breakers.wrap(fetchAnswer);
  metrics.watchCircuits(breakers);
  const makeUpstream = (tenant: TenantConfig, cfg: Config): Upstream => {
    const tenantHttp = meteredHttp(http, metrics, { tenant: tenant.id, kind: tenant.idp.kind });
    const upstreamDeps = { publicUrl: cfg.server.publicUrl, now: clock.now, keys, keysDir: cfg.keys.dir, store, http: tenantHttp, circuits: breakers, log: log.child({ tenant: tenant.id }) };
    return createUpstream(tenant, upstreamDeps);
  };
  // Config-file and store tenants, swapped whole on a reload or a store change (src/tenants/directory.ts).
  // A file tenant whose kind cannot start (unreadable metadata file, bad key file) is a ConfigError.
  const source = config.source;
  let directory: Directory;
  const views = new Views();
  try {
    directory = await openDirectory({
      config,
      store,
      log,
      makeUpstream,
      loadFile: source ? () => loadConfig(source, opts.env ?? process.env, { kinds: upstreamKinds }) : undefined,
      kinds: upstreamKinds,
      pollMs: opts.tenantPollMs,
      graceMs: opts.upstreamGraceMs,
      // The pages show a logo uploaded on any instance from the first page under a snapshot (docs/branding.md).
      beforeServe: (snapshot) => views.logos.prime(snapshot, (id) => store.getLogo(id)),
    });
  } catch (err) {
    keys.close();
    metrics.close();
    await store.close();
    throw err;
  }
  const audit = new AuditQueue(store, log);
  const deps: AppDeps = {
    // Non-tenant settings come from the latest snapshot too (a reload changes them); request
    // handlers pin one snapshot per request (pinSnapshot, src/http/deps.ts).
    get config() {
      return directory.current().config;
    },
    get upstreams() {
      return directory.current().upstreams;
    },
    directory,
    store,
    keys,
    clock,
    log,
    audit,
    metrics,
    views,
  };

  const purge = setInterval(() => {
    store.purgeExpired(clock.now()).catch((err) => log.error({ err }, 'purge failed'));
    // docs/operations.md "Audit retention": events older than audit.retentionDays go.
    store.purgeAudit(clock.now() - deps.config.audit.retentionDays * 86_400_000).catch((err) => log.error({ err }, 'audit purge failed'));
  }, PURGE_EVERY_MS);
  purge.unref();

  const lifecycle = new Lifecycle();
  const app = createApp(deps);
  installDrainGate(app, lifecycle);
  // POST /introspect takes a lean listener in front of Koa (src/http/fastpath.ts).
  installFastPath(app, deps, lifecycle);
  return {
    app,
    deps,
    lifecycle,
    breakers,
    async close() {
      clearInterval(purge);
      keys.close();
      await directory.close();
      await audit.close();
      metrics.close();
      await store.close();
    },
  };
}

/** Listens and wires the process signals: SIGHUP reloads keys, SIGTERM/SIGINT drain and exit. */
export async function serve(config: Config, opts: ServiceOptions = {}): Promise<{ server: Server; service: Service }> {
  const service = await createService(config, { watchKeys: true, defaultMetrics: true, ...opts });
  const { log } = service.deps;
  // Signals are wired before listening, so a SIGTERM at any moment drains cleanly.
  let server: Server | null = null;
  // docs/operations.md "Hot reload": SIGHUP reloads the keys and the config file; a change of the file reloads it too.
  const reloadFile = () => void service.deps.directory.reloadFile().catch((err) => log.error({ err }, 'configuration reload failed'));
  process.on('SIGHUP', () => {
    service.deps.keys.reload().then(
      () => log.info('keys reloaded'),
      (err) => log.error({ err }, 'key reload failed'),
    );
    reloadFile();
  });
  const watcher = config.source ? watchConfigFile(config.source, reloadFile) : null;
  exitOnFatal(log);
  // Drain (src/observability/drain.ts): readiness false at once, requests in flight finish
  // within the bound, then the store is closed and the buffered log written out.
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    watcher?.close();
    service.lifecycle.draining = true;
    const drained = server ? drain(server, service.lifecycle) : Promise.resolve({ cut: 0 });
    let code = 0;
    void drained
      .then(async ({ cut }) => {
        if (cut) log.warn({ cut }, 'requests still running at the drain bound were cut');
        await service.close();
        log.info('drained: store closed');
      })
      .catch((err) => {
        code = 1;
        log.error({ err }, 'drain failed');
      })
      .finally(() => {
        flushLogSync(log);
        process.exit(code);
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  server = await listen(service.app, config.server.port, config.server.host);
  log.info({ url: config.server.publicUrl, host: config.server.host, port: config.server.port, demo: config.demo }, 'fedbridge listening');
  if (config.demo) {
    // eslint-disable-next-line no-console
    console.error(`\n  *** ${DEMO_BANNER} ***\n  Open ${config.server.publicUrl}/ to play the device.\n`);
  }

  return { server, service };
}
