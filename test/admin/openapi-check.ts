/**
 * Talks to a started service's admin API and checks EVERY answer against the OpenAPI document
 * the service publishes (GET /admin/api/v1/openapi.json): the status must be one the operation
 * lists (or its `default`), the content type one it names, and the body must validate against
 * its JSON Schema (draft 2020-12, Ajv) — each line of a JSON-lines answer on its own.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import { expect } from 'vitest';
import { ADMIN_TOKEN } from '../helpers/enrollment.js';

type Json = Record<string, any>;

export interface AdminAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON (null for an empty or non-JSON body). */
  json: any;
  /** For application/x-ndjson: each line parsed. */
  lines: any[];
}

export interface AdminRequest {
  params?: Record<string, string>;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** A raw body with its own content type (sent as is). */
  raw?: { contentType: string; bytes: string | Uint8Array };
  /** The Authorization header; default `Bearer ADMIN_TOKEN`; null: none. */
  authorization?: string | null;
  /** More request headers (If-Match). */
  headers?: Record<string, string>;
}

/** Inlines `#/components/schemas/X` references (the document's components are not recursive). */
function inline(v: unknown, components: Json): unknown {
  if (Array.isArray(v)) return v.map((x) => inline(x, components));
  if (!v || typeof v !== 'object') return v;
  const o = v as Json;
  if (typeof o.$ref === 'string' && o.$ref.startsWith('#/components/schemas/')) {
    const target = components[o.$ref.slice('#/components/schemas/'.length)];
    if (!target) throw new Error(`dangling $ref ${o.$ref}`);
    return inline(target, components);
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, inline(x, components)]));
}

export class AdminClient {
  private readonly ajv = new Ajv2020({ strict: true, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();

  private constructor(
    readonly base: string,
    readonly doc: Json,
  ) {
    this.ajv.addFormat('date-time', { type: 'string', validate: (s: string) => !Number.isNaN(Date.parse(s)) });
    // The tenant schema's supportEmail: zod writes its own pattern beside the format, which checks it.
    this.ajv.addFormat('email', true);
  }

  static async open(serviceUrl: string): Promise<AdminClient> {
    const res = await fetch(`${serviceUrl}/admin/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Json;
    expect(doc.openapi).toBe('3.1.0');
    return new AdminClient(`${serviceUrl}/admin/api/v1`, doc);
  }

  /** Every (method, path template) the document lists, except the document itself. */
  operations(): Array<{ method: string; path: string; op: Json }> {
    const out: Array<{ method: string; path: string; op: Json }> = [];
    for (const [path, item] of Object.entries(this.doc.paths as Record<string, Json>)) {
      for (const [method, op] of Object.entries(item)) if (path !== '/openapi.json') out.push({ method, path, op: op as Json });
    }
    return out;
  }

  /** Compiles (once) the schema at this place of the document. */
  validator(key: string, schema: Json): ValidateFunction {
    const known = this.validators.get(key);
    if (known) return known;
    const v = this.ajv.compile(inline(schema, this.doc.components.schemas) as Json);
    this.validators.set(key, v);
    return v;
  }

  async call(method: string, template: string, req: AdminRequest = {}): Promise<AdminAnswer> {
    const op = this.doc.paths?.[template]?.[method.toLowerCase()] as Json | undefined;
    if (!op) throw new Error(`the OpenAPI document has no ${method} ${template}`);
    const path = template.replace(/\{(\w+)\}/g, (_m, k: string) => encodeURIComponent(req.params?.[k] ?? ''));
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) q.set(k, v);
    const headers: Record<string, string> = { ...req.headers };
    const auth = req.authorization === undefined ? `Bearer ${ADMIN_TOKEN}` : req.authorization;
    if (auth !== null) headers.authorization = auth;
    let body: string | Blob | undefined;
    if (req.raw) {
      headers['content-type'] = req.raw.contentType;
      body = typeof req.raw.bytes === 'string' ? req.raw.bytes : new Blob([new Uint8Array(req.raw.bytes)]);
    } else if (req.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    }
    const res = await fetch(`${this.base}${path}${q.size ? `?${q}` : ''}`, { method: method.toUpperCase(), headers, body });
    const text = await res.text();
    const answer: AdminAnswer = { status: res.status, headers: res.headers, text, json: null, lines: [] };
    this.check(method, template, op, answer);
    return answer;
  }

  /** The answer as the document describes it, or a failed expectation naming what differs. */
  private check(method: string, template: string, op: Json, a: AdminAnswer): void {
    const where = `${method.toUpperCase()} ${template} → ${a.status}`;
    const key = String(a.status) in op.responses ? String(a.status) : 'default';
    const spec = op.responses[key] as Json | undefined;
    expect(spec, `${where}: status not in the document`).toBeDefined();
    const content = spec!.content as Record<string, Json> | undefined;
    if (!content) {
      expect(a.text, `${where}: the document names no body`).toBe('');
      return;
    }
    const type = (a.headers.get('content-type') ?? '').split(';')[0]!.trim();
    expect(Object.keys(content), `${where}: content type`).toContain(type);
    const validate = this.validator(`${method} ${template} ${key} ${type}`, content[type]!.schema as Json);
    const values: unknown[] = [];
    if (type === 'application/x-ndjson') {
      expect(a.text === '' || a.text.endsWith('\n'), `${where}: JSON lines end with a newline`).toBe(true);
      a.lines = a.text.split('\n').slice(0, -1).map((l) => JSON.parse(l));
      values.push(...a.lines);
    } else {
      a.json = JSON.parse(a.text);
      values.push(a.json);
    }
    for (const v of values) {
      const ok = validate(v);
      expect(ok, `${where}: ${this.ajv.errorsText(validate.errors)} in ${JSON.stringify(v).slice(0, 500)}`).toBe(true);
    }
  }
}
