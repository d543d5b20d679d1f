/**
 * Starts a real Fedbridge service on 127.0.0.1 with a temp key dir and SQLite file,
 * an injectable clock, and a silent logger. Tests talk to it over HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from '../../src/config/load.js';
import { createService, type Service } from '../../src/service.js';
import { listen } from '../../src/http/listen.js';
import { upstreamKinds } from '../../src/upstreams/registry.js';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { freePort } from './redis.js';

export { freePort };

export class TestClock {
  constructor(public t = Date.now()) {}
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

export interface TestService {
  url: string;
  config: Config;
  service: Service;
  clock: TestClock;
  dir: string;
  close(): Promise<void>;
}

/**
 * With no `file` it runs demo mode (publicUrl fixed after the port is known).
 * With `file` (an object) it is written as YAML and loaded like a real config; use
 * the placeholder `{{PORT}}` anywhere to get the chosen port.
 */
export async function startService(opts: { file?: Record<string, unknown>; env?: Record<string, string>; clock?: TestClock; log?: Logger } = {}): Promise<TestService> {
  const dir = mkdtempSync(join(tmpdir(), 'fedbridge-test-'));
  const port = await freePort();
  const env = { ...opts.env, HOST: '127.0.0.1', PORT: String(port), FEDBRIDGE_DATA: join(dir, 'data'), FEDBRIDGE_KEYS: join(dir, 'keys') };
  let config: Config;
  if (opts.file) {
    const text = stringify(opts.file).replaceAll('{{PORT}}', String(port)).replaceAll('{{DIR}}', dir);
    const file = join(dir, 'config.yaml');
    writeFileSync(file, text);
    config = loadConfig(file, env, { kinds: upstreamKinds });
  } else {
    config = loadConfig(undefined, env, { kinds: upstreamKinds });
  }
  const clock = opts.clock ?? new TestClock();
  const service = await createService(config, { clock, log: opts.log ?? pino({ level: 'silent' }) });
  const server: Server = await listen(service.app, port, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    config,
    service,
    clock,
    dir,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A config file on 127.0.0.1 with its store and keys in the test's temp dir; `extra` overrides. */
export function testConfigFile(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    server: { publicUrl: 'http://127.0.0.1:{{PORT}}' },
    store: { kind: 'sqlite', path: '{{DIR}}/db.sqlite' },
    keys: { dir: '{{DIR}}/keys' },
    ...extra,
  };
}
