/**
 * The invitations of the admin API (docs/admin-api.md, Invitations): create one with its
 * enrollment deep link, list them, revoke one. The accesstoken is a secret shown once, at
 * creation: the store keeps only its hash (the id), so a listing can never rebuild a link.
 */
import { z } from 'zod';
import type { AppDeps } from '../../http/deps.js';
import { notFound } from '../../errors.js';
import type { Invitation } from '../../store/types.js';
import { issueInvitationLink, MAX_INVITATION_TTL_SECONDS, MIN_INVITATION_TTL_SECONDS } from '../../invitations/link.js';
import type { AdminOperation } from './api.js';
import { currentConfig, isoTime, limitParam } from './common.js';

/** An invitation id as invitationIdFor (src/invitations/index.ts) makes it: base64url of a hash. */
const invitationId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'not an invitation id').describe("the invitation's id (a hash of its accesstoken)");
const tenantId = z.string().min(1).max(64);

// Shape only; ranges, tenant and domain rules live in issueInvitationLink (shared with `fedbridge link`).
const createBody = z
  .object({
    tenant: tenantId.describe('the tenant the invitation belongs to'),
    upn: z.string().min(3).max(256).describe("the user's UPN; its domain must be one of the tenant's domains"),
    ownership: z.number().int().optional().describe('device ownership: 1 unknown, 2 personal, 3 corporate'),
    ttlSeconds: z
      .number()
      .int()
      .optional()
      .describe(`lifetime in seconds, ${MIN_INVITATION_TTL_SECONDS} to ${MAX_INVITATION_TTL_SECONDS} (default 72 hours)`),
    servername: z
      .string()
      .max(2048)
      .optional()
      .describe('the MDM discovery server put in the link (default: publicUrl when Fedbridge serves discovery)'),
  })
  .strict();

const created = z.object({
  id: z.string().describe("the stored id (a hash of the accesstoken); the token's `inv` claim"),
  tenant: z.string(),
  upn: z.string(),
  ownership: z.number().int().nullable(),
  expiresAt: isoTime,
  servername: z.string(),
  accesstoken: z.string().describe('the single-use secret; shown this once, never stored'),
  link: z.string().describe('ms-device-enrollment:?mode=mdm&username=…&servername=…&accesstoken=…[&ownership=N]'),
});

const listed = z
  .object({
    id: z.string().describe("the stored id (a hash of the accesstoken); the token's `inv` claim"),
    tenant: z.string(),
    upn: z.string(),
    ownership: z.number().int().nullable(),
    createdAt: isoTime,
    expiresAt: isoTime,
    usedAt: isoTime.nullable().describe('when a sign-in that used it finished; null while unused'),
    state: z.enum(['pending', 'used']),
  })
  .describe(
    'An invitation as stored. Its accesstoken is never stored (only its hash, the id), so its deep link cannot be rebuilt: ' +
      'it was shown once, when the invitation was created. To hand out a link again, revoke this one and create another.',
  );

function listedOf(i: Invitation) {
  return {
    id: i.id,
    tenant: i.tenantId,
    upn: i.upn,
    ownership: i.ownership,
    createdAt: new Date(i.createdAt).toISOString(),
    expiresAt: new Date(i.expiresAt).toISOString(),
    usedAt: i.usedAt === null ? null : new Date(i.usedAt).toISOString(),
    state: i.usedAt === null ? ('pending' as const) : ('used' as const),
  };
}

export const invitationOperations: AdminOperation[] = [
  {
    operationId: 'createInvitation',
    method: 'post',
    path: '/invitations',
    summary: 'Create a single-use enrollment invitation and its deep link',
    body: createBody,
    responses: { 201: { description: 'Created; the accesstoken and link are shown only in this answer', schema: created } },
    auditTenant: (input) => (input.body as z.infer<typeof createBody>).tenant,
    async handle(ctx, deps: AppDeps, input) {
      const req = input.body as z.infer<typeof createBody>;
      const now = deps.clock.now();
      const issued = await issueInvitationLink(currentConfig(deps), deps.store, req, now);
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
      ctx.body = created.parse({
        id: issued.id,
        tenant: issued.tenantId,
        upn: issued.upn,
        ownership: issued.ownership,
        expiresAt: new Date(issued.expiresAt).toISOString(),
        servername: issued.servername,
        accesstoken: issued.accesstoken,
        link: issued.link,
      });
    },
  },
  {
    operationId: 'listInvitations',
    method: 'get',
    path: '/invitations',
    summary: 'List the live invitations (unexpired; used ones included), newest first',
    query: z
      .object({
        tenant: tenantId.optional().describe('only the invitations of this tenant'),
        limit: limitParam(100, 1000),
      })
      .strict(),
    responses: {
      200: {
        description: 'The invitations, without their accesstokens or links (never stored)',
        schema: z.object({ invitations: z.array(listed) }),
      },
    },
    auditTenant: (input) => (input.query as { tenant?: string }).tenant,
    async handle(ctx, deps, input) {
      const q = input.query as { tenant?: string; limit: number };
      const list = await deps.store.listInvitations({ tenantId: q.tenant, now: deps.clock.now(), limit: q.limit });
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { invitations: list.map(listedOf) };
    },
  },
  {
    operationId: 'revokeInvitation',
    method: 'delete',
    path: '/invitations/{id}',
    summary: 'Revoke an invitation: its deep link stops working at once',
    params: z.object({ id: invitationId }).strict(),
    responses: { 204: { description: 'Revoked' } },
    async handle(ctx, deps, input) {
      const { id } = input.params as { id: string };
      const now = deps.clock.now();
      const known = await deps.store.getInvitation(id, now);
      if (!(await deps.store.revokeInvitation(id, now))) throw notFound('not_found', 'no such invitation (unknown, expired or revoked)');
      deps.audit.push({
        at: now,
        type: 'invitation.revoked',
        tenantId: known?.tenantId ?? null,
        subject: known?.upn ?? null,
        ip: ctx.ip,
        requestId: ctx.state.requestId,
        detail: { id, via: 'admin-api' },
      });
      ctx.status = 204;
    },
  },
];
