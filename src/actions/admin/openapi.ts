/** GET /admin/api/v1/openapi.json: the admin API's OpenAPI 3.1 document (grows with the API). */
import type { Context } from 'koa';
import type { AppDeps } from '../../http/deps.js';
import { notFound } from '../../errors.js';
import { DEFAULT_INVITATION_TTL_SECONDS, MAX_INVITATION_TTL_SECONDS, MIN_INVITATION_TTL_SECONDS } from '../../invitations/link.js';

const error = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
};

export function openApiDocument(publicUrl: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'Fedbridge admin API', version: '1' },
    servers: [{ url: `${publicUrl}/admin/api/v1` }],
    security: [{ adminToken: [] }],
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'admin.token from the configuration' } },
      schemas: {
        Error: error,
        InvitationRequest: {
          type: 'object',
          additionalProperties: false,
          required: ['tenant', 'upn'],
          properties: {
            tenant: { type: 'string', description: 'Tenant id from the configuration' },
            upn: { type: 'string', description: "The user's UPN; its domain must be one of the tenant's domains" },
            ownership: { type: 'integer', enum: [1, 2, 3], description: '1 unknown, 2 personal, 3 corporate' },
            ttlSeconds: {
              type: 'integer',
              minimum: MIN_INVITATION_TTL_SECONDS,
              maximum: MAX_INVITATION_TTL_SECONDS,
              default: DEFAULT_INVITATION_TTL_SECONDS,
            },
            servername: {
              type: 'string',
              description: 'MDM discovery server for the link; default publicUrl when Fedbridge serves discovery',
            },
          },
        },
        Invitation: {
          type: 'object',
          required: ['id', 'tenant', 'upn', 'expiresAt', 'accesstoken', 'link'],
          properties: {
            id: { type: 'string', description: "Stored id (a hash of the accesstoken); the token's `inv` claim" },
            tenant: { type: 'string' },
            upn: { type: 'string' },
            ownership: { type: ['integer', 'null'] },
            expiresAt: { type: 'string', format: 'date-time' },
            servername: { type: 'string' },
            accesstoken: { type: 'string', description: 'Single-use secret; shown once, never stored' },
            link: { type: 'string', description: 'ms-device-enrollment:?mode=mdm&username=…&servername=…&accesstoken=…[&ownership=N]' },
          },
        },
      },
    },
    paths: {
      '/invitations': {
        post: {
          operationId: 'createInvitation',
          summary: 'Create a single-use enrollment invitation and its deep link',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/InvitationRequest' } } } },
          responses: {
            '201': { description: 'Created', content: { 'application/json': { schema: { $ref: '#/components/schemas/Invitation' } } } },
            '400': { description: 'Invalid request', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
            '401': { description: 'Missing or wrong admin token', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
          },
        },
      },
    },
  };
}

/** Readable without the token (it holds no secrets), but only where the admin API exists. */
export function openApi(ctx: Context, deps: AppDeps): void {
  if (!deps.config.admin) throw notFound('not_found', 'the admin API is not configured (admin.token)');
  ctx.set('Cache-Control', 'no-cache');
  ctx.body = openApiDocument(deps.config.server.publicUrl);
}
