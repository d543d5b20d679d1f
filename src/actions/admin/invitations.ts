/**
 * POST /admin/api/v1/invitations: a single-use invitation and its enrollment deep link.
 * The route runs adminOnly (./auth.ts) before the body parser.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import type { AppDeps } from '../../http/deps.js';
import { badRequest } from '../../errors.js';
import { issueInvitationLink } from '../../invitations/link.js';

// Shape only; ranges, tenant and domain rules live in issueInvitationLink (shared with the CLI).
const body = z
  .object({
    tenant: z.string().min(1).max(64),
    upn: z.string().min(3).max(256),
    ownership: z.number().int().optional(),
    ttlSeconds: z.number().int().optional(),
    servername: z.string().max(2048).optional(),
  })
  .strict();

export async function createInvitationRoute(ctx: Context, deps: AppDeps): Promise<void> {
  const parsed = body.safeParse(ctx.request.body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    throw badRequest('invalid_request', problems);
  }
  const now = deps.clock.now();
  const issued = await issueInvitationLink(deps.config, deps.store, parsed.data, now);
  deps.audit.push({
    at: now,
    type: 'invitation.created',
    tenantId: issued.tenantId,
    subject: issued.upn,
    ip: ctx.ip,
    requestId: ctx.state.requestId,
    detail: { id: issued.id, via: 'admin-api' },
  });
  ctx.status = 201;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = {
    id: issued.id,
    tenant: issued.tenantId,
    upn: issued.upn,
    ownership: issued.ownership,
    expiresAt: new Date(issued.expiresAt).toISOString(),
    servername: issued.servername,
    accesstoken: issued.accesstoken,
    link: issued.link,
  };
}
