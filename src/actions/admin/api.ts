/**
 * The admin API's operations (docs/admin-api.md): one table, from which both the routes and the
 * OpenAPI 3.1 document are built, so the document describes exactly what is validated.
 * Each operation names its zod schemas; `registerAdminApi` (./index.ts) checks the bearer token
 * before any body is read, parses path, query and body with them (400 listing every field problem),
 * then calls `handle` with the parsed values.
 */
import type { Context } from 'koa';
import type { z } from 'zod';
import type { AppDeps } from '../../http/deps.js';
import type { ErrorCode } from '../../errors.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete';

export interface AdminResponse {
  description: string;
  /** JSON body schema; absent for an empty body (204) or a non-JSON body. */
  schema?: z.ZodType;
  /** Defaults to application/json when `schema` is given. */
  contentType?: string;
  /** Response headers the document names (name → description), e.g. a tenant's ETag. */
  headers?: Record<string, string>;
}

export interface AdminInput<P = Record<string, string>, Q = Record<string, unknown>, B = unknown> {
  params: P;
  query: Q;
  body: B;
}

export interface AdminOperation {
  operationId: string;
  method: HttpMethod;
  /** OpenAPI path template below /admin/api/v1, e.g. `/tenants/{id}`. */
  path: string;
  summary: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Optional request headers the document names (name → description), e.g. If-Match; read by `handle`. */
  headers?: Record<string, string>;
  /**
   * A JSON body (parsed with a 16 KiB limit), or a raw body of one of the listed content types
   * with its own byte limit (the logo upload): `handle` then gets a Buffer.
   */
  body?:
    | z.ZodType
    | {
        raw: readonly string[];
        maxBytes: number;
        /** The code of a raw body refused for its type (415) or size (413); default unsupported_media_type, request_too_large. */
        code?: ErrorCode;
      };
  /** Success answers; 400 (when anything is parsed) and 401 are added to the document for every operation. */
  responses: Record<number, AdminResponse>;
  /**
   * The tenant the call's audit event names (docs/admin-api.md, Audit); default: the `{id}` of a
   * `/tenants/{id}…` path. Never a secret or a body.
   */
  auditTenant?(input: AdminInput<any, any, any>): string | undefined;
  handle(ctx: Context, deps: AppDeps, input: AdminInput<any, any, any>): Promise<void> | void;
}
