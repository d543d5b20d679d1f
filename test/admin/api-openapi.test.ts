/**
 * The published OpenAPI 3.1 document is generated from the operation table: every operation with
 * a unique operationId, its path parameters declared, its request body the JSON Schema of the very
 * zod schema that validates it, 401 and a default error answer everywhere, and every schema in it
 * valid JSON Schema 2020-12 (Ajv, strict).
 */
import { expect, it } from 'vitest';
import { z } from 'zod';
import { adminOperations } from '../../src/actions/admin/index.js';
import { documentedAs } from '../../src/actions/admin/openapi.js';
import { startEnrollmentService } from '../helpers/enrollment.js';
import { useAdminService } from './service.js';

const admin = useAdminService(() => startEnrollmentService());

it('names this server, the bearer scheme, and 2020-12 as its dialect', () => {
  expect(admin.api.doc.servers).toEqual([{ url: `${admin.svc.url}/admin/api/v1` }]);
  expect(admin.api.doc.security).toEqual([{ adminToken: [] }]);
  expect(admin.api.doc.components.securitySchemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer' });
  expect(admin.api.doc.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema');
  expect(admin.api.doc.paths['/openapi.json'].get.security).toEqual([]);
});

it('describes each operation of the table from its own zod schemas', () => {
  const ids = new Set<string>();
  for (const op of adminOperations()) {
    const doc = admin.api.doc.paths[op.path][op.method];
    expect(doc.operationId).toBe(op.operationId);
    expect(ids.has(op.operationId)).toBe(false);
    ids.add(op.operationId);
    const pathParams = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    expect((doc.parameters ?? []).filter((p: { in: string }) => p.in === 'path').map((p: { name: string }) => p.name).sort()).toEqual(pathParams);
    for (const p of doc.parameters ?? []) if (p.in === 'path') expect(p.required).toBe(true);
    if (op.query) {
      const names = Object.keys(op.query.shape).sort();
      expect((doc.parameters ?? []).filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name).sort()).toEqual(names);
    }
    if (op.body && !('raw' in op.body)) {
      const expected = z.toJSONSchema(op.body, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
      delete expected.$schema;
      // A body its handler judges with a richer schema (a tenant) is shown as that schema's component.
      const shown = documentedAs(op.body);
      if (shown) expect(doc.requestBody.content['application/json'].schema).toEqual({ $ref: `#/components/schemas/${shown.name}` });
      else if (!('$defs' in expected)) expect(doc.requestBody.content['application/json'].schema).toEqual(expected);
    } else if (op.body) {
      expect(Object.keys(doc.requestBody.content).sort()).toEqual([...op.body.raw].sort());
    } else {
      expect(doc.requestBody).toBeUndefined();
    }
    for (const status of Object.keys(op.responses)) expect(doc.responses[status]).toBeDefined();
    expect(doc.responses['401'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Unauthorized' });
    expect(doc.responses.default).toBeDefined();
    if (op.params || op.query || op.body) expect(doc.responses['400']).toBeDefined();
  }
});

it('every schema in it compiles as JSON Schema 2020-12 (strict)', () => {
  let n = 0;
  for (const { method, path, op } of admin.api.operations()) {
    const schemas: Array<[string, Record<string, unknown>]> = [];
    for (const p of op.parameters ?? []) schemas.push([`param ${p.name}`, p.schema]);
    for (const [type, c] of Object.entries((op.requestBody?.content ?? {}) as Record<string, { schema: Record<string, unknown> }>)) schemas.push([`body ${type}`, c.schema]);
    for (const [status, r] of Object.entries(op.responses as Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>)) {
      for (const [type, c] of Object.entries(r.content ?? {})) schemas.push([`${status} ${type}`, c.schema]);
    }
    for (const [where, schema] of schemas) {
      expect(() => admin.api.validator(`compile ${method} ${path} ${where}`, schema), `${method} ${path} ${where}`).not.toThrow();
      n++;
    }
  }
  expect(n).toBeGreaterThan(40);
});
