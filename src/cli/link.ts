/**
 * `fedbridge link`: stores a single-use invitation in the configured store (works with or
 * without the service running) and prints its ms-device-enrollment: deep link.
 */
import { openStore } from '../store/index.js';
import { issueInvitationLink } from '../invitations/link.js';
import type { CliIO } from './io.js';
import { loadCliConfig } from './config.js';
import { withStoreTenants } from '../tenants/stored.js';
import { upstreamKinds } from '../upstreams/registry.js';

export function wholeNumber(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new Error(`--${name} must be a whole number`);
  return Number(v);
}

export interface LinkOptions {
  config?: string;
  tenant: string;
  user: string;
  ownership?: string;
  ttl?: string;
  servername?: string;
}

/** The options come parsed (src/cli/main.ts checks that --tenant and --user are there). */
export async function linkCmd(values: LinkOptions, io: CliIO): Promise<number> {
  const file = loadCliConfig(values, io);
  const store = await openStore(file.store);
  try {
    // Tenants created through the admin API live in the store (docs/admin-api.md, Tenants).
    const cfg = await withStoreTenants(file, store, upstreamKinds);
    const now = Date.now();
    const issued = await issueInvitationLink(
      cfg,
      store,
      {
        tenant: values.tenant,
        upn: values.user,
        ownership: wholeNumber('ownership', values.ownership),
        ttlSeconds: wholeNumber('ttl', values.ttl),
        servername: values.servername,
      },
      now,
    );
    await store.appendAudit([{ at: now, type: 'invitation.created', tenantId: issued.tenantId, subject: issued.upn, detail: { id: issued.id, via: 'cli' } }]);
    io.stdout(`${issued.link}\n`);
    io.stderr(`invitation ${issued.id} for ${issued.upn} (tenant ${issued.tenantId}), single use, expires ${new Date(issued.expiresAt).toISOString()}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
