/** GET <kind's metadata route> (e.g. /saml/:tenant/metadata): what this side publishes to the IdP. */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { notFound } from '../errors.js';
import type { UpstreamKind } from '../upstreams/types.js';

export async function upstreamMetadata(ctx: Context, deps: AppDeps, kind: UpstreamKind): Promise<void> {
  const tenantId = String(ctx.params.tenant ?? '');
  const upstream = deps.directory.current().upstreams.get(tenantId);
  if (!upstream || upstream.kind !== kind.kind || !upstream.metadata) throw notFound('unknown_tenant', 'no such tenant');
  ctx.state.tenantId = tenantId;
  const { contentType, body } = await upstream.metadata();
  ctx.type = contentType;
  ctx.set('Cache-Control', 'public, max-age=300');
  ctx.body = body;
}
