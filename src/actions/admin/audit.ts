/**
 * The audit log in the admin API (docs/admin-api.md, Audit): a paged query, newest first, and
 * an export as JSON lines streamed page by page (never the whole log in memory).
 */
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { AppDeps } from '../../http/deps.js';
import { isFedbridgeError } from '../../errors.js';
import type { AuditQuery, StoredAuditEvent } from '../../store/types.js';
import type { AdminOperation } from './api.js';
import { isoTime, limitParam } from './common.js';

/** Rows per store read of the export. */
export const EXPORT_PAGE = 500;

const filters = {
  type: z.string().min(1).max(100).optional().describe('only events of this type (e.g. signin.ok)'),
  tenant: z.string().min(1).max(64).optional().describe('only events of this tenant'),
  since: z
    .union([isoTime, z.string().regex(/^\d{1,15}$/)], { error: 'must be an ISO 8601 UTC time or epoch milliseconds' })
    .transform((s) => (/^\d+$/.test(s) ? Number(s) : Date.parse(s)))
    .optional()
    .describe('only events at or after this time: ISO 8601 (UTC, Z) or epoch milliseconds'),
};

const auditEvent = z.object({
  id: z.string().describe('orders events totally (two events of one millisecond differ)'),
  at: isoTime,
  type: z.string(),
  tenant: z.string().nullable(),
  subject: z.string().nullable(),
  ip: z.string().nullable(),
  requestId: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()).describe('small structured details; never secrets or tokens'),
});

export function eventOut(e: StoredAuditEvent): z.infer<typeof auditEvent> {
  return {
    id: e.id,
    at: new Date(e.at).toISOString(),
    type: e.type,
    tenant: e.tenantId ?? null,
    subject: e.subject ?? null,
    ip: e.ip ?? null,
    requestId: e.requestId ?? null,
    detail: e.detail ?? {},
  };
}

interface Filters {
  type?: string;
  tenant?: string;
  since?: number;
}

function storeQuery(f: Filters, limit: number, cursor?: string): AuditQuery {
  return { limit, cursor, type: f.type, tenantId: f.tenant, since: f.since };
}

type Page = Awaited<ReturnType<AppDeps['store']['queryAudit']>>;

/** Every matching event, newest first: the first page (already read), then page by page. */
async function* exportLines(deps: AppDeps, f: Filters, first: Page): AsyncGenerator<string> {
  let page = first;
  for (;;) {
    if (page.events.length) yield page.events.map((e) => `${JSON.stringify(eventOut(e))}\n`).join('');
    if (!page.nextCursor) return;
    page = await deps.store.queryAudit(storeQuery(f, EXPORT_PAGE, page.nextCursor));
  }
}

export const auditOperations: AdminOperation[] = [
  {
    operationId: 'queryAudit',
    method: 'get',
    path: '/audit',
    summary: 'Audit events, newest first, a page at a time',
    query: z
      .object({
        ...filters,
        cursor: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,200}$/, 'not a cursor')
          .optional()
          .describe("a previous answer's nextCursor: the page after it"),
        limit: limitParam(100, 1000),
      })
      .strict(),
    responses: {
      200: {
        description: 'One page; nextCursor is null on the last',
        schema: z.object({ events: z.array(auditEvent), nextCursor: z.string().nullable() }),
      },
    },
    auditTenant: (input) => (input.query as Filters).tenant,
    async handle(ctx, deps, input) {
      const q = input.query as Filters & { cursor?: string; limit: number };
      // What this instance has queued is written first: an admin sees what just happened.
      await deps.audit.flush();
      let page: Page;
      try {
        page = await deps.store.queryAudit(storeQuery(q, q.limit, q.cursor));
      } catch (err) {
        // The store refuses a cursor it did not hand out for this filter: said like every field problem.
        if (q.cursor !== undefined && isFedbridgeError(err) && err.status === 400) {
          const problem = { path: 'query.cursor', message: 'not a cursor this query handed out (the filters must stay the same while paging)' };
          ctx.status = 400;
          ctx.set('Cache-Control', 'no-store');
          ctx.body = { error: 'invalid_request', error_description: `${problem.path}: ${problem.message}`, errors: [problem] };
          return;
        }
        throw err;
      }
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { events: page.events.map(eventOut), nextCursor: page.nextCursor };
    },
  },
  {
    operationId: 'exportAudit',
    method: 'get',
    path: '/audit/export',
    summary: 'Every matching audit event as JSON lines, newest first (streamed)',
    query: z.object(filters).strict(),
    responses: {
      200: {
        description: 'One event per line (application/x-ndjson), each of this schema, newest first',
        contentType: 'application/x-ndjson',
        schema: auditEvent,
      },
    },
    auditTenant: (input) => (input.query as Filters).tenant,
    async handle(ctx, deps, input) {
      const f = input.query as Filters;
      await deps.audit.flush();
      // The first page is read before answering, so a store that is down gets its proper error status.
      const first = await deps.store.queryAudit(storeQuery(f, EXPORT_PAGE));
      const stream = Readable.from(exportLines(deps, f, first));
      // A store failure halfway can no longer change the status: the answer is cut short (the
      // client sees an incomplete chunked body) and the failure is logged.
      stream.on('error', (err) => deps.log.error({ err, reqId: ctx.state.requestId }, 'audit export failed'));
      ctx.status = 200;
      ctx.type = 'application/x-ndjson; charset=utf-8';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = stream;
    },
  },
];
