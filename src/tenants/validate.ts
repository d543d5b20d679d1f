/**
 * A tenant document from the admin API or the store, judged like a tenant of the config file
 * (docs/configuration.md): the same schema, placeholders and cross-key rules. Every problem is
 * reported at once, each with its path relative to the tenant (`idp.clientId`, `domains[1]`).
 *
 * One rule more than the file has: such a tenant names no file on the server (`idp.metadataFile`,
 * `idp.spKeyFile`, `idp.spCertFile`, any `idp.…File`). Files on the host are the operator's, set
 * in the configuration file; through the API they would let an admin client probe the host's files
 * or sign with a key it found there.
 */
import type { z } from 'zod';
import { tenantSchema, type TenantConfig } from '../config/schema.js';
import { checkCrossRules, findPlaceholders, formatPath, partialConfig } from '../config/rules.js';

export type TenantCheck =
  | { ok: true; tenant: TenantConfig; doc: Record<string, unknown> }
  | { ok: false; problems: string[] };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function describe(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `${formatPath([...issue.path, k])}: unknown key`);
  // An unknown idp.kind is said once, with the list of kinds, by the cross-key rules.
  if (issue.code === 'invalid_union' && issue.path.at(-1) === 'kind' && issue.path.at(-2) === 'idp') return [];
  // The file refuses such a domain too (a trailing dot, a space): say how to write one (docs/admin-api.md).
  if (issue.code === 'invalid_format' && issue.path.length === 2 && issue.path[0] === 'domains') {
    return [`${formatPath(issue.path)}: is not a domain name: write it like contoso.com (letters, digits, inner dashes and dots; no trailing dot; upper case is stored lowered)`];
  }
  return [`${formatPath(issue.path) || '(root)'}: ${issue.message}`];
}

export function checkTenantDoc(doc: unknown, kinds?: readonly string[]): TenantCheck {
  if (!isRecord(doc)) return { ok: false, problems: ['(root): must be a JSON object (a tenant as in the config file)'] };
  const problems: string[] = [];
  const placeholders = findPlaceholders(doc);
  for (const p of placeholders) problems.push(`${p.path}: ${p.message}`);
  const placeholderAt = new Set(placeholders.map((p) => p.path));
  const parsed = tenantSchema.safeParse(doc);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) if (!placeholderAt.has(formatPath(issue.path))) problems.push(...describe(issue));
  }
  if (isRecord(doc.idp)) {
    for (const key of Object.keys(doc.idp)) {
      if (/File$/.test(key)) {
        problems.push(`idp.${key}: files on the server are not accepted through the admin API (use the configuration file, or metadataUrl; the SP key is generated in keys.dir)`);
      }
    }
  }
  const view = parsed.success ? parsed.data : partialConfig({ tenants: [doc] }).tenants[0];
  for (const p of checkCrossRules({ tenants: [view], enrollmentServers: [] }, kinds, false)) {
    problems.push(p.startsWith('tenants[0].') ? p.slice('tenants[0].'.length) : p);
  }
  if (problems.length || !parsed.success) return { ok: false, problems };
  return { ok: true, tenant: parsed.data, doc };
}
