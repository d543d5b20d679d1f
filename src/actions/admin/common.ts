/** Small pieces the admin API's operation tables share (docs/admin-api.md). */
import { z } from 'zod';
import type { Config } from '../../config/load.js';
import type { TenantConfig } from '../../config/schema.js';
import type { AppDeps } from '../../http/deps.js';
import { tenantById } from '../../http/deps.js';
import type { TenantDirectory } from '../../tenants/types.js';

/** Times in answers: ISO 8601 in UTC with milliseconds. */
export const isoTime = z.iso.datetime();

/** A page size in a query string: whole number 1..max, `fallback` when absent. */
export function limitParam(fallback: number, max: number) {
  return z
    .string()
    .regex(/^\d{1,6}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(max))
    .default(fallback)
    .describe(`page size, 1 to ${max} (default ${fallback})`);
}

/** The tenant directory, once the service has one (src/tenants/types.ts). */
function directoryOf(deps: AppDeps): TenantDirectory | undefined {
  return (deps as AppDeps & { directory?: TenantDirectory }).directory;
}

/** The effective configuration: the directory's current snapshot (file and API tenants), else the file's. */
export function currentConfig(deps: AppDeps): Config {
  return directoryOf(deps)?.current().config ?? deps.config;
}

export function currentTenant(deps: AppDeps, id: string): TenantConfig | null {
  const dir = directoryOf(deps);
  if (dir) return dir.current().tenants.get(id)?.config ?? null;
  return tenantById(deps.config, id);
}
