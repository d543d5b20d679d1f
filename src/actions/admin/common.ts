/** Small pieces the admin API's operation tables share (docs/admin-api.md). */
import { z } from 'zod';
import type { Config } from '../../config/load.js';
import type { TenantConfig } from '../../config/schema.js';
import type { AppDeps } from '../../http/deps.js';

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

/** The effective configuration: the directory's current snapshot (file and API tenants; src/tenants/types.ts). */
export function currentConfig(deps: AppDeps): Config {
  return deps.directory.current().config;
}

/** A tenant of the current snapshot, from the file or created through the API. */
export function currentTenant(deps: AppDeps, id: string): TenantConfig | null {
  return deps.directory.current().tenants.get(id)?.config ?? null;
}
