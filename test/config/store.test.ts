/** `store` in the config file (docs/operations.md "Choosing a store"): one Redis, Sentinel or Cluster, each checked with its path. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';

let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fedbridge-store-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(store: unknown, env: Record<string, string> = {}) {
  const path = join(dir, `config-${++n}.json`);
  writeFileSync(path, JSON.stringify({ store }));
  return loadConfig(path, env);
}
function problems(store: unknown): string[] {
  try {
    load(store);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('the configuration was accepted');
}

it('accepts one server, Sentinel and Cluster in the shapes of docs/operations.md', () => {
  expect(load({ kind: 'redis', url: 'redis://127.0.0.1:6379' }).store).toEqual({ kind: 'redis', url: 'redis://127.0.0.1:6379' });
  expect(load({ kind: 'redis', sentinels: ['10.0.0.1:26379', '[::1]:26379'], name: 'mymaster', password: '${REDIS_PW}' }, { REDIS_PW: 'pw' }).store)
    .toEqual({ kind: 'redis', sentinels: ['10.0.0.1:26379', '[::1]:26379'], name: 'mymaster', password: 'pw' });
  expect(load({ kind: 'redis', cluster: ['redis-1:7000', 'redis-2:7000'] }).store).toEqual({ kind: 'redis', cluster: ['redis-1:7000', 'redis-2:7000'] });
});

it('refuses a mix, a missing target, a Sentinel without its master name, and addresses that are not host:port', () => {
  expect(problems({ kind: 'redis' })).toEqual(['store: give exactly one of url, sentinels (with name) or cluster']);
  expect(problems({ kind: 'redis', url: 'redis://h:1', cluster: ['h:2'] })).toEqual(['store: give exactly one of url, sentinels (with name) or cluster']);
  expect(problems({ kind: 'redis', sentinels: ['h:26379'] })).toEqual(["store.name: is required with sentinels (the master's name)"]);
  expect(problems({ kind: 'redis', cluster: ['h:1'], name: 'm' })).toEqual(['store.name: only goes with sentinels']);
  expect(problems({ kind: 'redis', cluster: ['redis://h:1'] })).toEqual(['store.cluster[0]: must be host:port']);
  expect(problems({ kind: 'redis', sentinels: [], name: 'm' })).toHaveLength(1);
  expect(problems({ kind: 'redis', cluster: ['h:1'], nodes: ['x'] })).toEqual(['store.nodes: unknown key']);
});
