/**
 * The admin API (docs/admin-api.md): every route under /admin/api/v1 built from the operation
 * tables (./api.ts), and the OpenAPI document generated from the same tables (./openapi.ts).
 *
 * Each call runs, in this order: the bearer check (./auth.ts; a 401 with no detail, before any
 * body is read), the body (JSON of at most 16 KiB, or the operation's raw content types and byte
 * limit), zod parsing of path, query and body (one 400 `invalid_request` listing every problem
 * with its path), then the operation. Every call is audited as `admin.<operationId>` with its
 * request id, address and status; never a secret or a body.
 */
import type Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
import type { z } from 'zod';
import type { AppDeps } from '../../http/deps.js';
import { FedbridgeError, isFedbridgeError, type ErrorCode } from '../../errors.js';
import type { AdminInput, AdminOperation } from './api.js';
import { checkAdminToken, requireAdminApi } from './auth.js';
import { invitationOperations } from './invitations.js';
import { idpTestOperations } from './idptest.js';
import { keyOperations } from './keys.js';
import { tenantOperations } from './tenants.js';
import { auditOperations } from './audit.js';
import { openApiDocument } from './openapi.js';

export const ADMIN_BASE = '/admin/api/v1';
export const JSON_BODY_LIMIT = 16 * 1024;
/** How much of a raw body over its limit is read and dropped before answering 413. */
const DRAIN_BYTES = 4 * 1024 * 1024;

/** The whole table, in the order the document lists it. */
export function adminOperations(): AdminOperation[] {
  return [...tenantOperations, ...invitationOperations, ...idpTestOperations, ...keyOperations, ...auditOperations];
}

const jsonBody = bodyParser({ enableTypes: ['json'], jsonLimit: JSON_BODY_LIMIT, encoding: 'utf-8' });

export interface FieldProblem {
  path: string;
  message: string;
}

/** A path segment from the request (an unknown key) as it may be shown: printable and short. */
function segment(s: PropertyKey): string {
  // eslint-disable-next-line no-control-regex
  const t = String(s).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return t.length > 64 ? `${t.slice(0, 64)}…` : t;
}

function pathOf(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${segment(p)}`;
  return out;
}

/** Every problem of one zod result, one per field (an unknown key is a problem of its own). */
function problemsOf(prefix: string, error: z.ZodError): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: pathOf(prefix, [...issue.path, key]), message: 'unknown field' });
    } else {
      out.push({ path: pathOf(prefix, issue.path), message: issue.message });
    }
  }
  return out;
}

/** The request body, read only after the token was accepted; undefined when there is none. */
async function readBodyFor(op: AdminOperation, ctx: Context): Promise<{ body: unknown } | { problem: FieldProblem }> {
  if (!op.body) return { body: undefined };
  const hasBody = ctx.request.length > 0 || ctx.get('transfer-encoding') !== '';
  if (!hasBody) return { body: undefined };
  if ('raw' in op.body) {
    if (!ctx.is(...op.body.raw)) throw new FedbridgeError(415, op.body.code ?? 'unsupported_media_type', `the body must be one of ${op.body.raw.join(', ')}`);
    return { body: await readRaw(ctx, op.body.maxBytes, op.body.code) };
  }
  if (!ctx.is('application/json', '+json')) throw new FedbridgeError(415, 'unsupported_media_type', 'the body must be application/json');
  try {
    await jsonBody(ctx, async () => {});
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 413) throw new FedbridgeError(413, 'request_too_large', `the body is over ${JSON_BODY_LIMIT} bytes`);
    // The parser's own message may quote the input: say only what is wrong.
    return { problem: { path: 'body', message: 'not a JSON object or array' } };
  }
  return { body: ctx.request.body };
}

/**
 * A raw body of at most `maxBytes`. Over the limit nothing more is kept, but the rest is read and
 * dropped (up to DRAIN_BYTES) before the 413 goes out, so the client, which is still sending,
 * gets the answer rather than a reset connection. The caller is authenticated by then.
 */
function readRaw(ctx: Context, maxBytes: number, code: ErrorCode = 'request_too_large'): Promise<Buffer> {
  const tooLarge = () => new FedbridgeError(413, code, `the body is over ${maxBytes} bytes`);
  const drainLimit = maxBytes + DRAIN_BYTES;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = Number(ctx.get('content-length')) > maxBytes;
    const req = ctx.req;
    const done = (err: Error | null, value?: Buffer) => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
      if (err) reject(err);
      else resolve(value!);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) over = true;
      if (over) {
        chunks.length = 0;
        // Past this, stop reading: the connection closes after the answer.
        if (size > drainLimit) done(tooLarge());
      } else chunks.push(c);
    };
    const onEnd = () => (over ? done(tooLarge()) : done(null, Buffer.concat(chunks)));
    const onError = () => done(new FedbridgeError(400, 'invalid_request', 'the body could not be read'));
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

/** Parses path, query and body (unless the body was unreadable: its one problem is said already). */
function parseInput(
  op: AdminOperation,
  raw: AdminInput<unknown, unknown, unknown>,
  bodyProblem: FieldProblem | null,
): { input: AdminInput<any, any, any> } | { problems: FieldProblem[] } {
  const problems: FieldProblem[] = bodyProblem ? [bodyProblem] : [];
  const part = (schema: z.ZodType | undefined, value: unknown, prefix: string): unknown => {
    if (!schema) return value;
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    problems.push(...problemsOf(prefix, r.error));
    return undefined;
  };
  const input = {
    params: part(op.params, raw.params, 'params'),
    query: part(op.query, raw.query, 'query'),
    body: bodyProblem || (op.body && 'raw' in op.body) ? raw.body : part(op.body as z.ZodType | undefined, raw.body, 'body'),
  };
  return problems.length ? { problems } : { input: input as AdminInput<any, any, any> };
}

/** `/tenants/{id}` → `/tenants/:id` (@koa/router's syntax). */
const routePath = (template: string) => ADMIN_BASE + template.replace(/\{(\w+)\}/g, ':$1');

function statusOf(err: unknown): number {
  if (isFedbridgeError(err)) return err.status;
  const s = (err as { status?: unknown })?.status;
  return typeof s === 'number' && s >= 400 && s < 600 ? s : 500;
}

function handlerFor(op: AdminOperation, deps: AppDeps) {
  return async (ctx: Context) => {
    requireAdminApi(deps); // 404 while the API is off: nothing to audit
    let status: number | undefined;
    let tenantId: string | undefined;
    // Unauthenticated callers are logged, never audited: a flood of them must not push real
    // events out of the audit log (docs/admin-api.md, Authentication).
    let authenticated = false;
    try {
      if (!(await checkAdminToken(ctx, deps))) {
        deps.log.warn({ reqId: ctx.state.requestId, code: 'unauthorized', status: 401 }, 'request refused');
        return;
      }
      authenticated = true;
      const read = await readBodyFor(op, ctx);
      const params = { ...(ctx.params as Record<string, string>) };
      const query = { ...(ctx.query as Record<string, unknown>) };
      const parsed = parseInput(op, { params, query, body: 'body' in read ? read.body : undefined }, 'problem' in read ? read.problem : null);
      if ('problems' in parsed) {
        const { problems } = parsed;
        deps.log.warn({ reqId: ctx.state.requestId, code: 'invalid_request', status: 400, problems: problems.length }, 'request refused');
        ctx.status = 400;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = {
          error: 'invalid_request',
          error_description: problems.map((p) => `${p.path}: ${p.message}`).join('; '),
          errors: problems,
        };
        return;
      }
      tenantId = op.auditTenant?.(parsed.input) ?? (op.path.startsWith('/tenants/{id}') ? (parsed.input.params as { id?: string }).id : undefined);
      await op.handle(ctx, deps, parsed.input);
    } catch (err) {
      status = statusOf(err);
      throw err;
    } finally {
      if (authenticated) deps.audit.push({
        at: deps.clock.now(),
        type: `admin.${op.operationId}`,
        tenantId: tenantId ?? null,
        ip: ctx.ip,
        requestId: ctx.state.requestId,
        detail: { method: op.method.toUpperCase(), path: op.path, status: status ?? ctx.status },
      });
    }
  };
}

/** Adds every admin route, and GET /admin/api/v1/openapi.json, to the router. */
export function registerAdminApi(router: Router, deps: AppDeps, ops: readonly AdminOperation[] = adminOperations()): void {
  const seen = new Set<string>();
  for (const op of ops) {
    const key = `${op.method} ${op.path}`;
    if (seen.has(key)) throw new Error(`admin API: ${key} is defined twice`);
    if (seen.has(`id ${op.operationId}`)) throw new Error(`admin API: operationId ${op.operationId} is used twice`);
    seen.add(key).add(`id ${op.operationId}`);
    router[op.method](routePath(op.path), handlerFor(op, deps));
  }
  let doc: { url: string; json: string } | null = null;
  // Readable without the token (it holds no secrets), but only where the admin API exists.
  router.get(`${ADMIN_BASE}/openapi.json`, (ctx) => {
    requireAdminApi(deps);
    const url = deps.config.server.publicUrl;
    if (doc?.url !== url) doc = { url, json: JSON.stringify(openApiDocument(ops, url)) };
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = doc.json;
  });
}
