/**
 * Recent activity in the console (docs/console.md "Activity"): sign-ins, their failures with
 * reason codes and request ids, and admin actions, newest first, from the audit log
 * (Store.queryAudit), filtered by tenant and event type, paged with the store's cursor.
 */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import type { StoredAuditEvent } from '../store/types.js';
import { isFedbridgeError } from '../errors.js';
import { sendConsolePage } from './pages.js';
import { consoleView } from './source.js';

export const PAGE_SIZE = 50;

/** The event types offered in the filter (any other well-formed type still filters, from a link). */
export const KNOWN_TYPES = [
  'signin.start',
  'signin.ok',
  'signin.refused',
  'signin.password_failed',
  'introspect.refused',
  'invitation.created',
  'console.signin',
  'console.signin_failed',
  'console.signout',
  'console.invitation_created',
  'console.invitation_revoked',
  'console.branding_saved',
] as const;

const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const TYPE = /^[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}$/;

/** A single query value or '' (repeated or absent). */
function one(q: unknown): string {
  return typeof q === 'string' ? q.trim() : '';
}

export async function activityPage(ctx: Context, deps: AppDeps): Promise<void> {
  const tenant = one(ctx.query.tenant);
  const type = one(ctx.query.type);
  const cursor = one(ctx.query.cursor);
  const problems: Record<string, string> = {};
  if (tenant && !TENANT_ID.test(tenant)) problems.tenant = 'not a tenant id';
  if (type && !TYPE.test(type)) problems.type = 'not an event type';
  if (cursor.length > 256) problems.cursor = 'not a cursor of this page';
  let page: { events: StoredAuditEvent[]; nextCursor: string | null } = { events: [], nextCursor: null };
  if (!Object.keys(problems).length) {
    try {
      page = await deps.store.queryAudit({ limit: PAGE_SIZE, tenantId: tenant || undefined, type: type || undefined, cursor: cursor || undefined });
    } catch (err) {
      // The store judges cursors (garbage, or made for another filter: 400 invalid_request).
      if (!isFedbridgeError(err) || err.status !== 400 || !cursor) throw err;
      problems.cursor = 'not a cursor of this page';
    }
  }
  const usable = !Object.keys(problems).length;
  const events = page.events.map((e) => {
    const d = (e.detail ?? {}) as Record<string, unknown>;
    const reason = [d.code, d.error].find((x) => typeof x === 'string') as string | undefined;
    return {
      at: new Date(e.at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      type: e.type,
      tenantId: e.tenantId ?? '',
      subject: e.subject ?? '',
      reason: reason ?? '',
      requestId: e.requestId ?? '',
      ip: e.ip ?? '',
    };
  });
  const more = page.nextCursor
    ? `/admin/activity?${new URLSearchParams({ ...(tenant && { tenant }), ...(type && { type }), cursor: page.nextCursor }).toString()}`
    : null;
  sendConsolePage(ctx, 'activity', {
    nav: 'activity',
    status: usable ? 200 : 400,
    data: {
      filter: { tenant, type },
      problems,
      tenants: consoleView(deps).tenants.map((t) => t.config.id).sort(),
      types: KNOWN_TYPES,
      events,
      more,
      paged: Boolean(cursor),
    },
  });
}
