/**
 * The console's tenants page (docs/console.md "Tenants"): every tenant, its IdP, where it is
 * defined, and its IdP's health from the admin API's IdP test (src/actions/admin/idptest.ts:
 * discovery or metadata reachable, signing certificates near their end, clock skew).
 *
 * A test may wait on a slow IdP for its whole deadline, so results are kept for a minute per
 * tenant and IdP settings, and the page waits at most HEALTH_WAIT_MS for a running test: a slow
 * one shows "still checking" and its result appears on a later visit.
 */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import type { TenantConfig } from '../config/schema.js';
import { testIdp, type Finding } from '../actions/admin/idptest.js';
import { sendConsolePage } from './pages.js';
import { consoleView } from './source.js';

export const HEALTH_TTL_MS = 60_000;
export const HEALTH_WAIT_MS = 3_000;

interface Health {
  ok: boolean;
  findings: Array<{ check: string; ok: boolean; warn: boolean; detail: string }>;
}

interface Checked {
  /** The IdP settings the result is for (a changed IdP is checked again). */
  idp: string;
  at: number;
  result: Promise<Health>;
  done: Health | null;
}

/** One cache per deps (per service), so tests and instances do not share results. */
const caches = new WeakMap<AppDeps, Map<string, Checked>>();

function check(deps: AppDeps, tenant: TenantConfig): Checked {
  let cache = caches.get(deps);
  if (!cache) caches.set(deps, (cache = new Map()));
  const idp = JSON.stringify(tenant.idp);
  const now = Date.now(); // real time: an IdP recovers in wall-clock time
  const known = cache.get(tenant.id);
  if (known && known.idp === idp && now - known.at < HEALTH_TTL_MS) return known;
  const entry: Checked = {
    idp,
    at: now,
    done: null,
    result: testIdp(deps, tenant.idp).then(
      (findings: Finding[]) => ({
        ok: findings.every((f) => f.ok),
        findings: findings.map((f) => ({ check: f.check, ok: f.ok, warn: Boolean(f.warning), detail: f.detail })),
      }),
      (err: unknown) => ({ ok: false, findings: [{ check: 'test', ok: false, warn: false, detail: String((err as Error)?.message ?? err).slice(0, 200) }] }),
    ),
  };
  void entry.result.then((h) => (entry.done = h));
  cache.set(tenant.id, entry);
  return entry;
}

async function healthWithin(entry: Checked, ms: number): Promise<Health | null> {
  if (entry.done) return entry.done;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([entry.result, late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function tenantsPage(ctx: Context, deps: AppDeps): Promise<void> {
  const view = consoleView(deps);
  const entries = [...view.tenants].sort((a, b) => a.config.id.localeCompare(b.config.id));
  const checks = entries.map((e) => check(deps, e.config));
  const healths = await Promise.all(checks.map((c) => healthWithin(c, HEALTH_WAIT_MS)));
  const tenants = entries.map((e, i) => ({
    id: e.config.id,
    displayName: e.config.displayName,
    domains: e.config.domains,
    kind: e.config.idp.kind,
    idpId: (e.config.idp as { id?: string }).id ?? null,
    source: e.source,
    health: healths[i],
  }));
  sendConsolePage(ctx, 'tenants', { nav: 'tenants', data: { tenants } });
}
