/**
 * The admin API's OpenAPI 3.1 document (docs/admin-api.md), generated from the operation table
 * (./api.ts): the same zod schemas that validate requests describe them here (z.toJSONSchema,
 * JSON Schema 2020-12, the dialect of OpenAPI 3.1), so the document cannot drift from the code.
 */
import { z } from 'zod';
import type { AdminOperation } from './api.js';

type Json = Record<string, unknown>;

/** Every error answer: the stable code, and for 4xx a description. */
export const errorSchema = z.object({
  error: z.string().describe('a code of docs/errors.md'),
  error_description: z.string().optional(),
});

/** 400 from the admin API's own validation: every problem with its path. */
export const validationErrorSchema = z.object({
  error: z.literal('invalid_request'),
  error_description: z.string(),
  errors: z
    .array(z.object({ path: z.string().describe('params.…, query.… or body.…'), message: z.string() }))
    .describe('every problem found, each with its path'),
});

/** 401: no detail, whatever was wrong with the token. */
export const unauthorizedSchema = z.object({ error: z.literal('unauthorized') }).strict();

interface SchemaSink {
  components: Record<string, Json>;
}

/**
 * A validator shown in the document as a named component built from another zod schema: for a
 * body the route takes as any JSON object because its handler judges it with a richer one (a
 * tenant, docs/admin-api.md "Tenants": src/tenants/validate.ts adds cross-key rules and keeps
 * write-only secrets). `transform` adjusts the generated JSON Schema (e.g. marks or drops secrets).
 */
export interface DocumentedAs {
  /** The component's name (components/schemas). */
  name: string;
  schema: z.ZodType;
  io: 'input' | 'output';
  description?: string;
  transform?: (json: Json) => Json;
}

const documented = new WeakMap<object, DocumentedAs>();

/** How the document shows `validator`, when documentAs named another schema for it. */
export function documentedAs(validator: z.ZodType): DocumentedAs | undefined {
  return documented.get(validator);
}

/** `validator`, which the document shows as `doc` (a `$ref` to its component). */
export function documentAs<T extends z.ZodType>(validator: T, doc: DocumentedAs): T {
  documented.set(validator, doc);
  return validator;
}

function componentOf(doc: DocumentedAs, sink: SchemaSink): void {
  if (doc.name in sink.components) return;
  sink.components[doc.name] = {}; // claimed first: a component that names itself is built once
  const json = schemaOf(doc.schema, doc.io, doc.name, sink);
  const out = doc.transform ? doc.transform(json) : json;
  sink.components[doc.name] = doc.description ? { ...out, description: doc.description } : out;
}

/**
 * A zod schema as an OpenAPI 3.1 Schema Object. Definitions zod hoists into `$defs` (reused or
 * recursive parts) move to components/schemas, since a `#/$defs/…` reference would resolve
 * against the whole document.
 */
function schemaOf(schema: z.ZodType, io: 'input' | 'output', name: string, sink: SchemaSink): Json {
  const json = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    override(ctx) {
      const doc = documented.get(ctx.zodSchema);
      if (!doc) return;
      componentOf(doc, sink);
      const target = ctx.jsonSchema as Json;
      const description = target.description;
      for (const key of Object.keys(target)) delete target[key];
      target.$ref = `#/components/schemas/${doc.name}`;
      if (typeof description === 'string') target.description = description;
    },
  }) as Json;
  delete json.$schema;
  const defs = json.$defs as Record<string, Json> | undefined;
  if (!defs) return json;
  delete json.$defs;
  const rename = (def: string) => `${name}_${def}`;
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (!v || typeof v !== 'object') return v;
    const out: Json = {};
    for (const [k, x] of Object.entries(v as Json)) {
      out[k] = k === '$ref' && typeof x === 'string' && x.startsWith('#/$defs/') ? `#/components/schemas/${rename(x.slice('#/$defs/'.length))}` : rewrite(x);
    }
    return out;
  };
  for (const [def, s] of Object.entries(defs)) sink.components[rename(def)] = rewrite(s) as Json;
  return rewrite(json) as Json;
}

function parametersOf(obj: z.ZodObject | undefined, where: 'path' | 'query', name: string, sink: SchemaSink): Json[] {
  if (!obj) return [];
  const json = schemaOf(obj, 'input', name, sink) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([param, schema]) => {
    const { description, ...rest } = schema;
    return {
      name: param,
      in: where,
      required: where === 'path' || (json.required ?? []).includes(param),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: Json) => ({ 'application/json': { schema } });

export function openApiDocument(ops: readonly AdminOperation[], publicUrl: string): Json {
  const sink: SchemaSink = {
    components: {
      Error: schemaOf(errorSchema, 'output', 'Error', { components: {} }),
      ValidationError: schemaOf(validationErrorSchema, 'output', 'ValidationError', { components: {} }),
      Unauthorized: schemaOf(unauthorizedSchema, 'output', 'Unauthorized', { components: {} }),
    },
  };
  const paths: Record<string, Record<string, Json>> = {
    '/openapi.json': {
      get: {
        operationId: 'openApiDocument',
        summary: 'This document (no token needed)',
        security: [],
        responses: { '200': { description: 'The OpenAPI 3.1 document', content: jsonContent({ type: 'object' }) } },
      },
    },
  };
  for (const op of ops) {
    const id = op.operationId;
    const responses: Record<string, Json> = {};
    for (const [status, r] of Object.entries(op.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.headers ? { headers: Object.fromEntries(Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) } : {}),
        ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: schemaOf(r.schema, 'output', `${id}_${status}`, sink) } } } : {}),
      };
    }
    if (op.params || op.query || op.body) {
      const own = responses['400'] as { description: string; content?: Record<string, { schema: Json }> } | undefined;
      const ownJson = own?.content?.['application/json']?.schema;
      // An operation's own 400 (a refusal of its handler) comes besides the validation 400.
      responses['400'] = ownJson
        ? { description: `${own!.description}; or invalid request: every problem with its path`, content: jsonContent({ anyOf: [ownJson, ref('ValidationError')] }) }
        : { description: 'Invalid request: every problem with its path', content: jsonContent(ref('ValidationError')) };
    }
    responses['401'] = {
      description: 'Missing, wrong or malformed admin token (no detail)',
      headers: { 'WWW-Authenticate': { schema: { type: 'string' }, description: 'Bearer realm="fedbridge-admin"' } },
      content: jsonContent(ref('Unauthorized')),
    };
    responses.default = { description: 'Any other refusal or failure (docs/errors.md)', content: jsonContent(ref('Error')) };

    let requestBody: Json | undefined;
    if (op.body && 'raw' in op.body) {
      const raw = op.body;
      requestBody = {
        required: true,
        description: `the raw bytes, at most ${raw.maxBytes} bytes`,
        content: Object.fromEntries(raw.raw.map((t) => [t, { schema: { contentMediaType: t } }])),
      };
    } else if (op.body) {
      requestBody = { required: true, description: 'a JSON document of at most 16 KiB', content: jsonContent(schemaOf(op.body, 'input', `${id}_body`, sink)) };
    }
    const parameters = [
      ...parametersOf(op.params, 'path', `${id}_params`, sink),
      ...parametersOf(op.query, 'query', `${id}_query`, sink),
      ...Object.entries(op.headers ?? {}).map(([name, description]) => ({ name, in: 'header', required: false, description, schema: { type: 'string' } })),
    ];
    (paths[op.path] ??= {})[op.method] = {
      operationId: id,
      summary: op.summary,
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Fedbridge admin API', version: '1', description: 'docs/admin-api.md' },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: `${publicUrl}/admin/api/v1` }],
    security: [{ adminToken: [] }],
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'admin.token from the configuration' } },
      schemas: sink.components,
    },
    paths,
  };
}
