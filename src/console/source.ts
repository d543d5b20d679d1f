/**
 * Where the console reads tenants and the running configuration from: the tenant directory
 * (src/tenants/types.ts: config-file and store tenants), one snapshot per request.
 */
import type { Config } from '../config/load.js';
import type { AppDeps } from '../http/deps.js';
import type { TenantDirectory, TenantEntry } from '../tenants/types.js';

export interface ConsoleView {
  config: Config;
  tenants: TenantEntry[];
  directory: TenantDirectory;
}

/** One consistent view for one request. */
export function consoleView(deps: AppDeps): ConsoleView {
  const snap = deps.directory.current();
  return { config: snap.config, tenants: [...snap.tenants.values()], directory: deps.directory };
}

/** The admin token in force now (a reload of the file may change it). */
export function currentAdminToken(deps: AppDeps): string | null {
  return deps.directory.current().config.admin?.token ?? null;
}
