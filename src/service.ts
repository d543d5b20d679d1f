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
import { createUpstream } from './upstreams/registry.js';
import { fetchAnswer } from './upstreams/http.js';
import { ConfigError } from './config/load.js';
import type { Upstream } from './upstreams/types.js';
import { AuditQueue } from './observability/audit.js';
import { createMetrics } from './observability/metrics.js';
import { Views } from './http/views.js';
import { createApp } from './http/app.js';
import { listen } from './http/listen.js';
import type { AppDeps, Clock } from './http/deps.js';
import { createLogger } from './log.js';
import { DEMO_BANNER } from './config/demo.js';

export interface ServiceOptions {
  clock?: Clock;
  log?: Logger;
  /** Watch keys.dir for rotations (off in most tests). */
  watchKeys?: boolean;
  defaultMetrics?: boolean;
}

export interface Service {
  app: Koa;
  deps: AppDeps;
  close(): Promise<void>;
}

const PURGE_EVERY_MS = 60_000;

export async function createService(config: Config, opts: ServiceOptions = {}): Promise<Service> {
  const clock = opts.clock ?? { now: () => Date.now() };
  const log = opts.log ?? createLogger(config.log.level);
  if (config.demo) log.warn({ demo: true }, DEMO_BANNER);
  for (const warning of config.warnings) log.warn({ config: config.source }, `configuration warning: ${warning}`);

  const store = await openStore(config.store);
  const keys = await KeyRing.open(
    config.keys.dir,
    config.keys.algorithm,
    keyTiming(config),
    clock.now(),
    clock.now,
  );
  if (opts.watchKeys) keys.watch((err) => log.error({ err }, 'key reload failed'));

  const upstreams = new Map<string, Upstream>();
  const problems: string[] = [];
  config.tenants.forEach((tenant, i) => {
    const upstreamDeps = { publicUrl: config.server.publicUrl, now: clock.now, keys, keysDir: config.keys.dir, store, http: fetchAnswer, log: log.child({ tenant: tenant.id }) };
    try {
      upstreams.set(tenant.id, createUpstream(tenant, upstreamDeps));
    } catch (err) {
      // A kind that cannot start (unreadable metadata file, bad key file) is a config problem, said like one.
      problems.push(`tenants[${i}].idp: ${(err as Error).message}`);
    }
  });
  if (problems.length) {
    for (const u of upstreams.values()) u.close?.();
    keys.close();
    await store.close();
    throw new ConfigError(problems, config.source);
  }
  const audit = new AuditQueue(store, log);
  const metrics = createMetrics(opts.defaultMetrics ?? false);
  const deps: AppDeps = { config, store, keys, upstreams, clock, log, audit, metrics, views: new Views() };

  const purge = setInterval(() => {
    store.purgeExpired(clock.now()).catch((err) => log.error({ err }, 'purge failed'));
  }, PURGE_EVERY_MS);
  purge.unref();

  return {
    app: createApp(deps),
    deps,
    async close() {
      clearInterval(purge);
      keys.close();
      for (const u of upstreams.values()) u.close?.();
      await audit.close();
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
  process.on('SIGHUP', () => {
    service.deps.keys.reload().then(
      () => log.info('keys reloaded'),
      (err) => log.error({ err }, 'key reload failed'),
    );
  });
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    if (!server) {
      void service.close().finally(() => process.exit(0));
      return;
    }
    server.close(() => {
      service.close().finally(() => process.exit(0));
    });
    setTimeout(() => process.exit(1), 10_000).unref();
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
