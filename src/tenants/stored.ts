/**
 * Store tenants as the directory serves them (docs/admin-api.md, Tenants): each judged with the
 * config file's rules; one this version cannot read, or whose id or a domain a config-file tenant
 * holds (the file wins), is left out with a reason.
 */
import type { Config } from '../config/load.js';
import type { TenantConfig } from '../config/schema.js';
import type { Store, StoredTenant } from '../store/types.js';
import { checkTenantDoc } from './validate.js';

export function usableStoreTenants(
  fileTenants: readonly TenantConfig[],
  stored: readonly StoredTenant[],
  kinds: readonly string[] | undefined,
  skip: (s: StoredTenant, why: string) => void,
): Array<{ stored: StoredTenant; tenant: TenantConfig }> {
  const ids = new Set(fileTenants.map((t) => t.id));
  const owner = new Map<string, string>();
  for (const t of fileTenants) for (const d of t.domains) owner.set(d, t.id);
  const out: Array<{ stored: StoredTenant; tenant: TenantConfig }> = [];
  for (const s of [...stored].sort((a, b) => a.id.localeCompare(b.id))) {
    const check = checkTenantDoc(s.doc, kinds);
    if (!check.ok) {
      skip(s, `invalid (written by another version?): ${check.problems.join('; ')}`);
      continue;
    }
    const t = check.tenant;
    if (t.id !== s.id) {
      skip(s, `its document names id ${t.id}`);
      continue;
    }
    if (ids.has(t.id)) {
      skip(s, 'the configuration file has a tenant with this id');
      continue;
    }
    const taken = t.domains.find((d) => owner.has(d));
    if (taken) {
      skip(s, `domain ${taken} belongs to tenant ${owner.get(taken)}`);
      continue;
    }
    ids.add(t.id);
    for (const d of t.domains) owner.set(d, t.id);
    out.push({ stored: s, tenant: t });
  }
  return out;
}

/**
 * The configuration with the store's usable tenants after the file's: for commands that work on
 * the store without a running service (`fedbridge link`).
 */
export async function withStoreTenants(config: Config, store: Store, kinds?: readonly string[]): Promise<Config> {
  const usable = usableStoreTenants(config.tenants, await store.listTenants(), kinds, () => undefined);
  return { ...config, tenants: [...config.tenants, ...usable.map((u) => u.tenant)] };
}
