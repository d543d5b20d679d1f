/**
 * Tenants in the admin API (docs/admin-api.md, Tenants): list, read, create, replace, delete, and
 * upload a logo. Bodies are a tenant exactly as in the config file (docs/configuration.md); the
 * directory (src/tenants/directory.ts) judges them with the file's own rules. Config-file tenants
 * are listed read-only; secrets are write-only (a replace that leaves one out keeps it).
 */
import type { Context } from 'koa';
import { z } from 'zod';
import type { AppDeps } from '../../http/deps.js';
import { isFedbridgeError } from '../../errors.js';
import type { TenantEntry } from '../../tenants/types.js';
import { LOGO_MAX_BYTES, LOGO_TYPES } from '../../tenants/logo.js';
import type { AdminOperation } from './api.js';
import { isoTime } from './common.js';
import { errorSchema } from './openapi.js';

const tenantDoc = z
  .record(z.string(), z.unknown())
  .describe(
    'a tenant exactly as in the config file (docs/configuration.md: id, displayName, domains, audience, branding, policy, idp); ' +
      'secrets (idp.clientSecret, idp.users[].passwordHash, idp.spKeyFile) are write-only: never returned, kept when left out of a replace, removed when null',
  );

const tenantInfo = z.object({
  id: z.string(),
  source: z.enum(['file', 'store']).describe('file: from the configuration file (read-only here); store: created through this API'),
  readOnly: z.boolean().describe('true for config-file tenants: change them in the file'),
  version: z.number().int().nullable().describe('store tenants: 1 on create, +1 per replace; null for file tenants'),
  updatedAt: isoTime.nullable().describe('store tenants: time of the last write; null for file tenants'),
  tenant: tenantDoc,
});

const idParams = z.object({ id: z.string().min(1).max(64).describe("the tenant's id") });

const logoInfo = z.object({
  id: z.string(),
  contentType: z.enum(LOGO_TYPES),
  size: z.number().int(),
  etag: z.string(),
  url: z.string().describe('where the sign-in pages load it from (GET /t/{id}/logo, public)'),
});

function infoOf(deps: AppDeps, id: string, entry: TenantEntry): z.infer<typeof tenantInfo> {
  return {
    id,
    source: entry.source,
    readOnly: entry.source === 'file',
    version: entry.version ?? null,
    updatedAt: entry.updatedAt !== undefined ? new Date(entry.updatedAt).toISOString() : null,
    tenant: deps.directory.publicDoc(id) ?? {},
  };
}

/**
 * A 400 of the directory (every field problem, relative to the tenant) in the admin API's shape:
 * each with its `body.…` path (src/actions/admin/index.ts).
 */
async function judged<T>(ctx: Context, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    if (!isFedbridgeError(err) || err.code !== 'invalid_request' || err.status !== 400) throw err;
    const list = (err as { problems?: unknown }).problems;
    const problems = Array.isArray(list) ? (list as string[]) : [err.message];
    const errors = problems.map((p) => {
      const at = p.indexOf(': ');
      const rel = at < 0 ? '' : p.slice(0, at);
      const path = rel === '' || rel === '(root)' ? 'body' : `body.${rel}`;
      return { path, message: at < 0 ? p : p.slice(at + 2) };
    });
    ctx.status = 400;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { error: 'invalid_request', error_description: errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors };
    return undefined;
  }
}

function audit(ctx: Context, deps: AppDeps, type: string, tenantId: string, detail: Record<string, unknown>): void {
  deps.audit.push({ at: deps.clock.now(), type, tenantId, ip: ctx.ip, requestId: ctx.state.requestId, detail: { via: 'admin-api', ...detail } });
}

function send(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = body;
}

const conflict409 = { description: 'conflict: the id or a domain is taken, or the tenant comes from the configuration file', schema: errorSchema };
const notFound404 = { description: 'unknown_tenant: no such tenant', schema: errorSchema };

export const tenantOperations: AdminOperation[] = [
  {
    operationId: 'listTenants',
    method: 'get',
    path: '/tenants',
    summary: 'List every tenant: the configuration file\'s (read-only) and those created through this API',
    responses: { 200: { description: 'File tenants first, then store tenants by id', schema: z.object({ tenants: z.array(tenantInfo) }) } },
    handle(ctx, deps) {
      const snap = deps.directory.current();
      send(ctx, 200, { tenants: [...snap.tenants].map(([id, entry]) => infoOf(deps, id, entry)) });
    },
  },
  {
    operationId: 'createTenant',
    method: 'post',
    path: '/tenants',
    summary: 'Create a tenant (every instance sharing the store serves it within seconds)',
    body: tenantDoc,
    responses: { 201: { description: 'Created', schema: tenantInfo }, 409: conflict409 },
    auditTenant: (input) => (typeof (input.body as { id?: unknown })?.id === 'string' ? String((input.body as { id: string }).id).slice(0, 64) : undefined),
    async handle(ctx, deps, input) {
      const entry = await judged(ctx, () => deps.directory.create(input.body, deps.clock.now()));
      if (!entry) return;
      const id = entry.config.id;
      audit(ctx, deps, 'tenant.created', id, { version: entry.version, domains: entry.config.domains, kind: entry.config.idp.kind });
      ctx.set('Location', `${deps.config.server.publicUrl}/admin/api/v1/tenants/${encodeURIComponent(id)}`);
      send(ctx, 201, infoOf(deps, id, entry));
    },
  },
  {
    operationId: 'getTenant',
    method: 'get',
    path: '/tenants/{id}',
    summary: 'One tenant, without its secrets',
    params: idParams,
    responses: { 200: { description: 'The tenant', schema: tenantInfo }, 404: notFound404 },
    handle(ctx, deps, input) {
      const entry = deps.directory.current().tenants.get(input.params.id);
      if (!entry) return send(ctx, 404, { error: 'unknown_tenant', error_description: 'no such tenant' });
      send(ctx, 200, infoOf(deps, input.params.id, entry));
    },
  },
  {
    operationId: 'replaceTenant',
    method: 'put',
    path: '/tenants/{id}',
    summary: 'Replace a tenant created through this API (a secret left out keeps its stored value)',
    params: idParams,
    body: tenantDoc,
    responses: { 200: { description: 'Replaced', schema: tenantInfo }, 404: notFound404, 409: conflict409 },
    async handle(ctx, deps, input) {
      const entry = await judged(ctx, () => deps.directory.replace(input.params.id, input.body, deps.clock.now()));
      if (!entry) return;
      audit(ctx, deps, 'tenant.updated', entry.config.id, { version: entry.version, domains: entry.config.domains, kind: entry.config.idp.kind });
      send(ctx, 200, infoOf(deps, entry.config.id, entry));
    },
  },
  {
    operationId: 'deleteTenant',
    method: 'delete',
    path: '/tenants/{id}',
    summary: 'Delete a tenant created through this API (with its logo); sign-ins to it stop within seconds on every instance',
    params: idParams,
    responses: { 204: { description: 'Deleted' }, 404: notFound404, 409: conflict409 },
    async handle(ctx, deps, input) {
      await deps.directory.remove(input.params.id);
      deps.views.logos.note(input.params.id, null); // its logo went with it
      audit(ctx, deps, 'tenant.deleted', input.params.id, {});
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 204;
    },
  },
  {
    operationId: 'putTenantLogo',
    method: 'put',
    path: '/tenants/{id}/logo',
    summary: `Upload the tenant's logo: PNG, JPEG or SVG of at most ${LOGO_MAX_BYTES} bytes (also for config-file tenants)`,
    params: idParams,
    body: { raw: LOGO_TYPES, maxBytes: LOGO_MAX_BYTES, code: 'invalid_logo' },
    responses: {
      200: { description: 'Stored; the sign-in pages show it', schema: logoInfo },
      400: { description: 'invalid_logo: the bytes are not what the type says (PNG or JPEG signature, SVG document with an <svg> root)', schema: errorSchema },
      404: notFound404,
      413: { description: `invalid_logo: over ${LOGO_MAX_BYTES} bytes`, schema: errorSchema },
      415: { description: 'invalid_logo: not image/png, image/jpeg or image/svg+xml', schema: errorSchema },
    },
    async handle(ctx, deps, input) {
      const id: string = input.params.id;
      const bytes = Buffer.isBuffer(input.body) ? input.body : Buffer.alloc(0);
      const logo = await deps.directory.setLogo(id, ctx.get('content-type'), bytes);
      // This instance's pages show it at once; others within seconds (src/http/views.ts UploadedLogos).
      deps.views.logos.note(id, logo.etag);
      audit(ctx, deps, 'tenant.logo.updated', id, { contentType: logo.contentType, size: logo.bytes.length, etag: logo.etag });
      send(ctx, 200, {
        id,
        contentType: logo.contentType,
        size: logo.bytes.length,
        etag: logo.etag,
        url: `${deps.config.server.publicUrl}/t/${encodeURIComponent(id)}/logo?v=${encodeURIComponent(logo.etag)}`,
      });
    },
  },
];
