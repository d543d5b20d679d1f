/**
 * Invitations in the console (docs/console.md "Invitations"): the live ones (Store.listInvitations),
 * a form that issues one through the same code as the CLI and the admin API (issueInvitationLink)
 * and shows its deep link once, with a QR code of it, and revocation (Store.revokeInvitation).
 */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { DEFAULT_INVITATION_TTL_SECONDS, issueInvitationLink } from '../invitations/link.js';
import { qrSvg, sendConsolePage, seeOther } from './pages.js';
import { consoleView } from './source.js';
import { auditConsole, field, formProblem } from './common.js';

/** Lifetimes offered (seconds → label); the default is the CLI's and the API's. */
export const TTL_CHOICES: ReadonlyArray<[number, string]> = [
  [3600, '1 hour'],
  [86_400, '1 day'],
  [DEFAULT_INVITATION_TTL_SECONDS, '3 days'],
  [7 * 86_400, '7 days'],
  [30 * 86_400, '30 days'],
];
const OWNERSHIP: ReadonlyArray<[string, string]> = [
  ['', 'Not given'],
  ['1', 'Unknown (1)'],
  ['2', 'Personal (2)'],
  ['3', 'Corporate (3)'],
];
const LIST_LIMIT = 200;
const INVITATION_ID = /^[A-Za-z0-9_-]{1,64}$/;

interface FormValues {
  tenant: string;
  upn: string;
  ownership: string;
  ttl: string;
  servername: string;
}

async function show(ctx: Context, deps: AppDeps, extra: { status?: number; values?: FormValues; problem?: unknown; created?: unknown } = {}) {
  const view = consoleView(deps);
  const now = deps.clock.now();
  const invitations = (await deps.store.listInvitations({ now, limit: LIST_LIMIT })).map((i) => ({
    id: i.id,
    tenantId: i.tenantId,
    upn: i.upn,
    ownership: i.ownership,
    createdAt: new Date(i.createdAt).toISOString(),
    expiresAt: new Date(i.expiresAt).toISOString(),
    used: i.usedAt !== null,
  }));
  const done = typeof ctx.query.done === 'string' ? ctx.query.done : '';
  sendConsolePage(ctx, 'invitations', {
    nav: 'invitations',
    status: extra.status,
    data: {
      invitations,
      tenants: view.tenants.map((t) => ({ id: t.config.id, displayName: t.config.displayName })).sort((a, b) => a.id.localeCompare(b.id)),
      ttlChoices: TTL_CHOICES,
      ownershipChoices: OWNERSHIP,
      servernameRequired: !view.config.discovery,
      values: extra.values ?? { tenant: '', upn: '', ownership: '', ttl: String(DEFAULT_INVITATION_TTL_SECONDS), servername: '' },
      problem: extra.problem ?? null,
      created: extra.created ?? null,
      notice: done === 'revoked' ? 'The invitation was revoked.' : done === 'gone' ? 'That invitation was already gone (expired or revoked).' : null,
    },
  });
}

export async function invitationsPage(ctx: Context, deps: AppDeps): Promise<void> {
  await show(ctx, deps);
}

export async function createInvitationPost(ctx: Context, deps: AppDeps): Promise<void> {
  const body = ctx.request.body;
  const values: FormValues = {
    tenant: field(body, 'tenant', 64) ?? '',
    upn: field(body, 'upn', 256) ?? '',
    ownership: field(body, 'ownership', 1) ?? '',
    ttl: field(body, 'ttl', 8) ?? '',
    servername: field(body, 'servername', 2048) ?? '',
  };
  const ttl = Number(values.ttl);
  const choice = TTL_CHOICES.some(([s]) => s === ttl);
  const now = deps.clock.now();
  let issued;
  try {
    issued = await issueInvitationLink(
      consoleView(deps).config,
      deps.store,
      {
        tenant: values.tenant,
        upn: values.upn,
        ownership: values.ownership ? Number(values.ownership) : null,
        // Only the offered lifetimes (anything else is refused by issueInvitationLink's range check as NaN).
        ttlSeconds: choice ? ttl : Number.NaN,
        servername: values.servername || undefined,
      },
      now,
    );
  } catch (err) {
    return show(ctx, deps, { status: (err as { status?: number }).status ?? 400, values, problem: formProblem(err) });
  }
  auditConsole(ctx, deps, 'invitation_created', { tenantId: issued.tenantId, subject: issued.upn, detail: { id: issued.id } });
  await show(ctx, deps, {
    status: 201,
    created: {
      id: issued.id,
      tenantId: issued.tenantId,
      upn: issued.upn,
      expiresAt: new Date(issued.expiresAt).toISOString(),
      link: issued.link,
      qr: await qrSvg(issued.link, `QR code of the enrollment link for ${issued.upn}`),
    },
  });
}

export async function revokeInvitationPost(ctx: Context, deps: AppDeps): Promise<void> {
  const id = String(ctx.params.id);
  const now = deps.clock.now();
  const known = INVITATION_ID.test(id) ? await deps.store.getInvitation(id, now) : null;
  const revoked = known !== null && (await deps.store.revokeInvitation(id, now));
  if (revoked) auditConsole(ctx, deps, 'invitation_revoked', { tenantId: known.tenantId, subject: known.upn, detail: { id } });
  seeOther(ctx, `/admin/invitations?done=${revoked ? 'revoked' : 'gone'}`);
}
