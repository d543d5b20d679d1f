/** The configuration a CLI command works on: --config FILE, else FEDBRIDGE_CONFIG, else demo mode. */
import { loadConfig, type Config } from '../config/load.js';
import { upstreamKinds } from '../upstreams/registry.js';
import type { CliIO } from './io.js';

export function loadCliConfig(values: { config?: string }, io: CliIO): Config {
  return loadConfig(values.config ?? (io.env.FEDBRIDGE_CONFIG || undefined), io.env, { kinds: upstreamKinds });
}
