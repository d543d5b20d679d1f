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
import { tenantSchema } from '../../config/schema.js';
import type { TenantEntry } from '../../tenants/types.js';
import { isSecretKey } from '../../tenants/secrets.js';
import { LOGO_MAX_BYTES, LOGO_TYPES } from '../../tenants/logo.js';
import type { AdminOperation } from './api.js';
import { isoTime } from './common.js';
import { documentAs, errorSchema } from './openapi.js';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The tenant in the OpenAPI document (docs/admin-api.md "Tenants"): generated from the config
 * file's own tenant schema (src/config/schema.ts), with the secrets of its `idp` (src/tenants/secrets.ts)
 * write-only (`create`), write-only and optional, or null to remove (`replace`), or absent (`read`).
 * A write may name no server file (`idp.…File`, src/tenants/validate.ts), so those keys are only in `read`.
 */
function tenantJson(mode: 'create' | 'replace' | 'read'): (json: Json) => Json {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!isRecord(v)) return v;
    const out: Json = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'properties' ? x : walk(x)]));
    if (!isRecord(v.properties)) return out;
    const props: Json = {};
    let required = Array.isArray(v.required) ? (v.required as string[]) : undefined;
    for (const [key, schema] of Object.entries(v.properties)) {
      const drop = (isSecretKey(key) && mode === 'read') || (mode !== 'read' && /File$/.test(key));
      if (drop) {
        required = required?.filter((r) => r !== key);
        continue;
      }
      if (!isSecretKey(key)) {
        props[key] = walk(schema);
      } else if (mode === 'create') {
        props[key] = { ...(schema as Json), writeOnly: true };
      } else {
        // replace: left out keeps the stored value, null removes it.
        props[key] = { anyOf: [schema, { type: 'null' }], writeOnly: true };
        required = required?.filter((r) => r !== key);
      }
    }
    out.properties = props;
    if (required) out.required = required;
    return out;
  };
  return (json) => {
    const props = { ...(json.properties as Json) };
    props.idp = walk(props.idp);
    // Domains are compared in lower case: upper case is accepted and stored lowered (docs/admin-api.md).
    const domains = props.domains as { items?: { pattern?: string } } | undefined;
    if (domains?.items?.pattern) {
      props.domains = { ...domains, items: { ...domains.items, pattern: domains.items.pattern.replaceAll('a-z', 'a-zA-Z') } };
    }
    return { ...json, properties: props };
  };
}

const SHAPE_NOTE =
  'A tenant as in the configuration file (docs/configuration.md), generated from the schema the service validates it with. ' +
  'The service also applies the rules this schema cannot express, each refused with 400 and its path: ' +
  'the cross-key rules of the file (e.g. idp.clientSecret required for client_secret_basic, a local user in one of the domains), ' +
  'known message keys and placeholders in branding.strings, and no ${ENV} placeholders.';

/** What routes parse a tenant body with: any JSON object; the directory judges it (src/tenants/validate.ts). */
const anyObject = () => z.record(z.string(), z.unknown());

const createBody = documentAs(anyObject(), {
  name: 'TenantCreate',
  schema: tenantSchema,
  io: 'input',
  transform: tenantJson('create'),
  description: `${SHAPE_NOTE} Secrets (writeOnly) are never returned.`,
});
const replaceBody = documentAs(anyObject(), {
  name: 'TenantReplace',
  schema: tenantSchema,
  io: 'input',
  transform: tenantJson('replace'),
  description: `${SHAPE_NOTE} A secret (writeOnly) left out keeps its stored value; null removes it.`,
});
const tenantDoc = documentAs(anyObject(), {
  name: 'Tenant',
  schema: tenantSchema,
  io: 'input',
  transform: tenantJson('read'),
  description: 'The tenant as written (store tenants) or as loaded with its defaults (file tenants), without its secrets.',
});

const tenantInfo = z.object({
  id: z.string(),
  source: z.enum(['file', 'store']).describe('file: from the configuration file (read-only here); store: created through this API'),
  readOnly: z.boolean().describe('true for config-file tenants: change them in the file'),
  version: z.number().int().nullable().describe('store tenants: 1 on create, +1 per replace; null for file tenants'),
  updatedAt: isoTime.nullable().describe('store tenants: time of the last write; null for file tenants'),
  tenant: tenantDoc,
});

const idParams = z.object({ id: z.string().min(1).max(64).describe("the tenant's id") });

/**
 * The version an `If-Match` names (docs/admin-api.md, Concurrent edits): undefined without the
 * header or with `*` (any version); else the stored version when one of its tags is it (a strong
 * `"<version>"`), or -1, which no version is.
 */
function ifMatchVersion(ctx: Context, deps: AppDeps, id: string): number | undefined {
  const header = ctx.get('if-match').trim();
  if (header === '' || header === '*') return undefined;
  const tags = header.split(',').map((t) => t.trim());
  const current = deps.directory.current().tenants.get(id)?.version;
  const versions = tags.map((t) => (/^"[1-9][0-9]{0,14}"$/.test(t) ? Number(t.slice(1, -1)) : -1));
  // Of several tags, the one the stored tenant is (as far as this instance knows) is checked atomically.
  return versions.find((v) => v === current) ?? versions.find((v) => v > 0) ?? -1;
}

/** `ETag: "<version>"` of a store tenant (file tenants have no version and no ETag). */
function setEtag(ctx: Context, entry: TenantEntry): void {
  if (entry.version !== undefined) ctx.set('ETag', `"${entry.version}"`);
}

const etagHeader = { ETag: 'the stored version as a strong entity tag, "<version>" (store tenants only): send it as If-Match' };
const ifMatchHeader = {
  'If-Match': 'the ETag of the tenant as read ("<version>"; several may be listed; * for any): the write happens only on that version, else 412. Without it, on any version.',
};
const ifMatchNote = 'If-Match: "<version>" (the ETag of a GET) makes the write happen only on that version, else 412; without If-Match it happens on any version';
const precondition412 = {
  description: 'precondition_failed: the If-Match version is not the current one (someone else wrote first): read it again',
  schema: errorSchema,
};

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
    body: createBody,
    responses: { 201: { description: 'Created; ETag: "<version>"', schema: tenantInfo, headers: etagHeader }, 409: conflict409 },
    auditTenant: (input) => (typeof (input.body as { id?: unknown })?.id === 'string' ? String((input.body as { id: string }).id).slice(0, 64) : undefined),
    async handle(ctx, deps, input) {
      const entry = await judged(ctx, () => deps.directory.create(input.body, deps.clock.now()));
      if (!entry) return;
      const id = entry.config.id;
      audit(ctx, deps, 'tenant.created', id, { version: entry.version, domains: entry.config.domains, kind: entry.config.idp.kind });
      ctx.set('Location', `${deps.config.server.publicUrl}/admin/api/v1/tenants/${encodeURIComponent(id)}`);
      setEtag(ctx, entry);
      send(ctx, 201, infoOf(deps, id, entry));
    },
  },
  {
    operationId: 'getTenant',
    method: 'get',
    path: '/tenants/{id}',
    summary: 'One tenant, without its secrets',
    params: idParams,
    responses: { 200: { description: 'The tenant; a store tenant with ETag: "<version>" (for If-Match)', schema: tenantInfo, headers: etagHeader }, 404: notFound404 },
    handle(ctx, deps, input) {
      const entry = deps.directory.current().tenants.get(input.params.id);
      if (!entry) return send(ctx, 404, { error: 'unknown_tenant', error_description: 'no such tenant' });
      setEtag(ctx, entry);
      send(ctx, 200, infoOf(deps, input.params.id, entry));
    },
  },
  {
    operationId: 'replaceTenant',
    method: 'put',
    path: '/tenants/{id}',
    summary: `Replace a tenant created through this API (a secret left out keeps its stored value). ${ifMatchNote}`,
    params: idParams,
    headers: ifMatchHeader,
    body: replaceBody,
    responses: { 200: { description: 'Replaced; ETag: "<version>"', schema: tenantInfo, headers: etagHeader }, 404: notFound404, 409: conflict409, 412: precondition412 },
    async handle(ctx, deps, input) {
      const ifVersion = ifMatchVersion(ctx, deps, input.params.id);
      const entry = await judged(ctx, () => deps.directory.replace(input.params.id, input.body, deps.clock.now(), ifVersion));
      if (!entry) return;
      setEtag(ctx, entry);
      audit(ctx, deps, 'tenant.updated', entry.config.id, { version: entry.version, domains: entry.config.domains, kind: entry.config.idp.kind });
      send(ctx, 200, infoOf(deps, entry.config.id, entry));
    },
  },
  {
    operationId: 'deleteTenant',
    method: 'delete',
    path: '/tenants/{id}',
    summary: `Delete a tenant created through this API (with its logo); sign-ins to it stop within seconds on every instance. ${ifMatchNote}`,
    params: idParams,
    headers: ifMatchHeader,
    responses: { 204: { description: 'Deleted' }, 404: notFound404, 409: conflict409, 412: precondition412 },
    async handle(ctx, deps, input) {
      await deps.directory.remove(input.params.id, ifMatchVersion(ctx, deps, input.params.id));
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
