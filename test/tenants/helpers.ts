/**
 * A real service whose config file stays on disk (to edit and reload), with the same env on
 * reload as at start, an optional shared store, and a log that tests can read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { createService, type Service, type ServiceOptions } from '../../src/service.js';
import { listen } from '../../src/http/listen.js';
import { upstreamKinds } from '../../src/upstreams/registry.js';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { freePort } from '../helpers/redis.js';
// The token test/admin/openapi-check.ts's AdminClient sends.
import { ADMIN_TOKEN } from '../helpers/enrollment.js';

export { ADMIN_TOKEN };

export interface Running {
  url: string;
  port: number;
  dir: string;
  file: string;
  env: Record<string, string>;
  service: Service;
  logs: Array<Record<string, unknown>>;
  /** Writes the config file again (same placeholders as at start). */
  write(file: Record<string, unknown>): void;
  close(): Promise<void>;
}

export async function startWithFile(file: Record<string, unknown>, opts: ServiceOptions = {}): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'fedbridge-tenants-'));
  const port = await freePort();
  const env = { HOST: '127.0.0.1', PORT: String(port) };
  const path = join(dir, 'config.yaml');
  const write = (f: Record<string, unknown>) => writeFileSync(path, stringify(f).replaceAll('{{PORT}}', String(port)).replaceAll('{{DIR}}', dir));
  write(file);
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  });
  const config = loadConfig(path, env, { kinds: upstreamKinds });
  const service = await createService(config, { log: pino({ level: 'info' }, sink), env, ...opts });
  const server: Server = await listen(service.app, port, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    port,
    dir,
    file: path,
    env,
    service,
    logs,
    write,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A config file with a SQLite store (or the given one) in the test's folder and the admin API on. */
export function baseFile(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    server: { publicUrl: 'http://127.0.0.1:{{PORT}}' },
    store: { kind: 'sqlite', path: '{{DIR}}/db.sqlite' },
    keys: { dir: '{{DIR}}/keys' },
    admin: { token: ADMIN_TOKEN },
    ...extra,
  };
}

const hashes = new Map<string, string>();
/** scrypt is slow on purpose: one hash per password per test run. */
export function hashOf(password: string): string {
  let h = hashes.get(password);
  if (!h) hashes.set(password, (h = hashPasswordSync(password)));
  return h;
}

/** A tenant of kind local with one user `user@<domain>`. */
export function localTenant(id: string, domain: string, password: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    displayName: `Org ${id}`,
    domains: [domain],
    idp: { kind: 'local', users: [{ upn: `user@${domain}`, passwordHash: hashOf(password) }] },
    ...extra,
  };
}

export const APPRU = 'ms-app://windows.immersivecontrolpanel';

/** Polls `fn` until it returns true (or the time is up); for changes that propagate. */
export async function eventually(fn: () => Promise<boolean>, timeoutMs = 15_000, stepMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
