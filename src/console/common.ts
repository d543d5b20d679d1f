/** Small pieces the console's pages share: the request's session, form fields, audit, form refusals. */
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { ERROR_CODES, isFedbridgeError } from '../errors.js';
import type { Session } from './session.js';

/** The session of this request (routes behind requireSession only). */
export function sessionOf(ctx: Context): Session {
  return ctx.state.consoleSession as Session;
}

/** Audits a console action like the admin API does: type `console.<action>`. */
export function auditConsole(
  ctx: Context,
  deps: AppDeps,
  action: string,
  fields: { tenantId?: string | null; subject?: string | null; detail?: Record<string, unknown> } = {},
): void {
  const s = ctx.state.consoleSession as Session | undefined;
  deps.audit.push({
    at: deps.clock.now(),
    type: `console.${action}`,
    tenantId: fields.tenantId ?? null,
    subject: fields.subject ?? null,
    ip: ctx.ip,
    requestId: ctx.state.requestId,
    // The session named by a hash of its id: ties one admin's actions together, reveals nothing.
    detail: { ...fields.detail, ...(s ? { session: sessionTag(s) } : {}) },
  });
}

function sessionTag(s: Session): string {
  return createHash('sha256').update(s.id).digest('base64url').slice(0, 12);
}

/** A string form field, trimmed, at most `max` characters (longer or repeated: null). */
export function field(body: unknown, name: string, max = 256): string | null {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  if (typeof v !== 'string' || v.length > max) return null;
  return v.trim();
}

/** A refusal shown inside a console form: its code and the code's fixed meaning (never the input). */
export function formProblem(err: unknown): { code: string; text: string } {
  if (!isFedbridgeError(err) || err.status >= 500) throw err;
  const text = (ERROR_CODES as Record<string, string>)[err.code] ?? err.code;
  return { code: err.code, text };
}
