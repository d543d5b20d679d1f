/**
 * Hot reload of the configuration file (docs/operations.md "Hot reload"): SIGHUP or a change of
 * the file. Settings the running process cannot change keep their running values and are
 * logged as needing a restart.
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/load.js';

/** Read once at start-up: the listener, the store connection, the key ring, the proxy setting and the logger. */
const RESTART_ONLY: ReadonlyArray<{ name: string; get(c: Config): unknown; set(c: Config, from: Config): Config }> = [
  { name: 'server.port', get: (c) => c.server.port, set: (c, r) => ({ ...c, server: { ...c.server, port: r.server.port } }) },
  { name: 'server.host', get: (c) => c.server.host, set: (c, r) => ({ ...c, server: { ...c.server, host: r.server.host } }) },
  { name: 'server.trustProxy', get: (c) => c.server.trustProxy, set: (c, r) => ({ ...c, server: { ...c.server, trustProxy: r.server.trustProxy } }) },
  { name: 'store', get: (c) => c.store, set: (c, r) => ({ ...c, store: r.store }) },
  { name: 'keys', get: (c) => c.keys, set: (c, r) => ({ ...c, keys: r.keys }) },
  { name: 'log.level', get: (c) => c.log.level, set: (c, r) => ({ ...c, log: r.log }) },
];

/** `next` with every restart-only setting put back to its running value, and the names of those that differed. */
export function pinRestartSettings(running: Config, next: Config): { config: Config; kept: string[] } {
  let config = next;
  const kept: string[] = [];
  for (const s of RESTART_ONLY) {
    if (isDeepStrictEqual(s.get(running), s.get(next))) continue;
    kept.push(s.name);
    config = s.set(config, running);
  }
  return { config, kept };
}

/**
 * Calls `onChange` when the file's content has changed, once things have been quiet for
 * `debounceMs`. The folder is watched, not the file, and any event there makes it look at the
 * content again: editors and config management replace a file by renaming a new one over it, and
 * Kubernetes swaps a `..data` symlink beside a symlinked file; a watch on the file itself would miss
 * both. A write that leaves the content as it was (or another file of the folder) calls nothing.
 */
export function watchConfigFile(file: string, onChange: () => void, debounceMs = 300): { close(): void } {
  const digest = (): string | null => {
    try {
      return createHash('sha256').update(readFileSync(file)).digest('hex');
    } catch {
      return null; // gone for a moment (mid-rename): look again at the next event
    }
  };
  let last = digest();
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = watch(dirname(file), { persistent: false }, () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      const now = digest();
      if (now === null || now === last) return;
      last = now;
      onChange();
    }, debounceMs);
    timer.unref();
  });
  watcher.on('error', () => undefined);
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher?.close();
      watcher = null;
    },
  };
}
