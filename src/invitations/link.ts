/**
 * Issuing an invitation and its `ms-device-enrollment:` deep link (README, Operating it `link`).
 * One function for the CLI and the admin API, so both validate and format alike.
 */
import type { Config } from '../config/load.js';
import type { Store } from '../store/types.js';
import { tenantById, upnAllowedIn } from '../http/deps.js';
import { checkSecureUrl } from '../config/urls.js';
import { badRequest } from '../errors.js';
import { createInvitation } from './index.js';

/** Long enough to reach someone over a weekend; short enough that a leaked link dies soon. */
export const DEFAULT_INVITATION_TTL_SECONDS = 72 * 3600;
export const MAX_INVITATION_TTL_SECONDS = 30 * 24 * 3600;
export const MIN_INVITATION_TTL_SECONDS = 60;

export interface LinkRequest {
  tenant: string;
  upn: string;
  /** 1 unknown, 2 personal, 3 corporate (Windows deep-link values). */
  ownership?: number | null;
  ttlSeconds?: number;
  servername?: string;
}

export interface IssuedLink {
  id: string;
  tenantId: string;
  upn: string;
  ownership: number | null;
  /** Epoch ms. */
  expiresAt: number;
  /** The secret in the link; only its hash is stored. */
  accesstoken: string;
  servername: string;
  link: string;
}

/** The deep link itself; every value URL-encoded. */
export function enrollmentLink(p: { upn: string; servername: string; accesstoken: string; ownership?: number | null }): string {
  const e = encodeURIComponent;
  const ownership = p.ownership ? `&ownership=${e(String(p.ownership))}` : '';
  return `ms-device-enrollment:?mode=mdm&username=${e(p.upn)}&servername=${e(p.servername)}&accesstoken=${e(p.accesstoken)}${ownership}`;
}

const HOST_PORT = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?(?::\d{1,5})?$/;

/** The explicit servername, else publicUrl when this service answers discovery. */
export function resolveServername(config: Config, given?: string): string {
  const s = given?.trim();
  if (s) {
    const problem = s.includes('://') ? checkSecureUrl(s) : HOST_PORT.test(s) ? null : 'is not a host name or URL';
    if (problem || s.length > 2048) throw badRequest('invalid_servername', `servername ${problem ?? 'is too long'}`);
    return s;
  }
  if (config.discovery) return config.server.publicUrl;
  throw badRequest(
    'servername_required',
    'no servername: give the MDM discovery server (--servername / "servername"), or configure `discovery` so that Fedbridge answers discovery at its publicUrl',
  );
}

const UPN = /^[^\s@]{1,200}@([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+)$/;

export async function issueInvitationLink(config: Config, store: Store, req: LinkRequest, now: number): Promise<IssuedLink> {
  const tenant = tenantById(config, req.tenant);
  if (!tenant) throw badRequest('unknown_tenant', `no tenant ${JSON.stringify(req.tenant)} in the configuration`);
  const upn = req.upn?.trim() ?? '';
  const m = UPN.exec(upn);
  if (!m) throw badRequest('invalid_upn', 'upn must look like user@domain');
  // Tenant binding (docs/configuration.md): the sign-in at the end refuses a UPN outside the tenant's
  // domains (unless policy.allowForeignDomains), so such an invitation could never be used.
  if (!upnAllowedIn(tenant, upn)) {
    throw badRequest('upn_not_in_tenant', `${m[1]} is not a domain of tenant ${tenant.id} (${tenant.domains.join(', ')})`);
  }
  const ownership = req.ownership ?? null;
  if (ownership !== null && !(Number.isInteger(ownership) && ownership >= 1 && ownership <= 3)) {
    throw badRequest('invalid_ownership', 'ownership must be 1 (unknown), 2 (personal) or 3 (corporate)');
  }
  const ttlSeconds = req.ttlSeconds ?? DEFAULT_INVITATION_TTL_SECONDS;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < MIN_INVITATION_TTL_SECONDS || ttlSeconds > MAX_INVITATION_TTL_SECONDS) {
    throw badRequest('invalid_ttl', `ttl must be whole seconds between ${MIN_INVITATION_TTL_SECONDS} and ${MAX_INVITATION_TTL_SECONDS}`);
  }
  const servername = resolveServername(config, req.servername);

  const { accesstoken, invitation } = await createInvitation(store, { tenantId: tenant.id, upn, ownership, ttlSeconds, now });
  return {
    id: invitation.id,
    tenantId: tenant.id,
    upn,
    ownership,
    expiresAt: invitation.expiresAt,
    accesstoken,
    servername,
    link: enrollmentLink({ upn, servername, accesstoken, ownership }),
  };
}
