/** Rules that span several keys (zod checks one value at a time). */
import type { z } from 'zod';
import { configSchema, idpSchema, tenantSchema, type ConfigFile, type IdpConfig, type TenantConfig } from './schema.js';
import { domainOf } from './domains.js';
import { kindOf, upstreamKinds } from '../upstreams/registry.js';

/**
 * What the cross-key rules look at. A valid ConfigFile is one; when the schema fails,
 * `partialConfig` builds one from the parts that did validate, so these rules still run
 * and every problem is reported at once (a key that failed is skipped here: the schema
 * already reported it).
 */
export interface RulesInput {
  tenants: Array<Partial<Pick<TenantConfig, 'id' | 'domains' | 'policy' | 'idp'>> & { idpKind?: string }>;
  enrollmentServers: Array<Partial<ConfigFile['enrollmentServers'][number]>>;
  discovery?: ConfigFile['discovery'];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `tenants[1].idp.issuer` from a path. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, seg) => {
    if (typeof seg === 'number') return `${acc}[${seg}]`;
    return acc ? `${acc}.${String(seg)}` : String(seg);
  }, '');
}

/** Keys whose value is prose for people: dots and brackets there are text, not placeholders. */
const FREE_TEXT_KEYS = new Set(['displayName', 'signInText']);
/** Keys holding secrets (docs/configuration.md): never echoed, and expected as `${ENV}`. */
const SECRET_KEYS = new Set(['clientSecret', 'secret', 'token', 'password']);
const PLACEHOLDER_WORD = /change[-_ ]?me|replace[-_ ]?me/i;
const ANGLE_PLACEHOLDER = /<[A-Za-z][A-Za-z0-9 ._-]{0,40}>/;

/**
 * The placeholder in a value copied from an example (`<tenant-id>`, `...`, `…`, `changeme`),
 * or null. A secret is judged as a whole (a real secret may contain dots or brackets) and
 * never quoted back.
 */
export function placeholderIn(value: string, secret: boolean): string | null {
  const v = value.trim();
  if (v === '...' || v === '…') return v;
  const word = PLACEHOLDER_WORD.exec(v);
  if (word) return secret ? 'a "changeme" value' : word[0];
  if (secret) return ANGLE_PLACEHOLDER.test(v) && /^<[^<>]*>$/.test(v) ? 'a <…> value' : null;
  const angle = ANGLE_PLACEHOLDER.exec(v);
  if (angle) return angle[0];
  if (v.includes('…')) return '…';
  if (v.includes('...')) return '...';
  return null;
}

/**
 * Values left as placeholders from an example: they pass the schema but fail later (at the
 * IdP, at sign-in), so they are refused up front, each with its path.
 */
export function findPlaceholders(raw: unknown): Array<{ path: string; message: string }> {
  const found: Array<{ path: string; message: string }> = [];
  const walk = (v: unknown, path: PropertyKey[]) => {
    const key = path.at(-1);
    if (typeof v === 'string') {
      if (typeof key === 'string' && FREE_TEXT_KEYS.has(key)) return;
      const secret = typeof key === 'string' && SECRET_KEYS.has(key);
      const p = placeholderIn(v, secret);
      if (p) found.push({ path: formatPath(path), message: `${p} is a placeholder: write the real value here` });
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (isRecord(v)) for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(raw, []);
  return found;
}

/**
 * Secrets written into the file itself rather than as `${ENV_NAME}`: allowed, but the file
 * then has to be guarded like the secret. Judged on the file as written (before substitution).
 */
export function inlineSecretWarnings(written: unknown): string[] {
  const warnings: string[] = [];
  const obj = isRecord(written) ? written : {};
  const check = (v: unknown, path: PropertyKey[]) => {
    if (typeof v === 'string' && v !== '' && !/\$\{[A-Za-z_][A-Za-z0-9_]*\}/.test(v)) {
      warnings.push(`${formatPath(path)}: secret written inline; write it as "\${ENV_NAME}" and set that variable, so the file holds no secret`);
    }
  };
  (Array.isArray(obj.enrollmentServers) ? obj.enrollmentServers : []).forEach((s, i) => isRecord(s) && check(s.secret, ['enrollmentServers', i, 'secret']));
  if (isRecord(obj.store)) check(obj.store.password, ['store', 'password']);
  if (isRecord(obj.admin)) check(obj.admin.token, ['admin', 'token']);
  if (isRecord(obj.metrics)) check(obj.metrics.token, ['metrics', 'token']);
  (Array.isArray(obj.tenants) ? obj.tenants : []).forEach((t, i) => {
    if (isRecord(t) && isRecord(t.idp)) check(t.idp.clientSecret, ['tenants', i, 'idp', 'clientSecret']);
  });
  return warnings;
}


function pick<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
  const r = schema.safeParse(value);
  return r.success ? r.data : undefined;
}

export function partialConfig(raw: unknown): RulesInput & { server: Partial<ConfigFile['server']> } {
  const obj = isRecord(raw) ? raw : {};
  const shape = configSchema.shape;
  const t = tenantSchema.shape;
  const server = isRecord(obj.server) ? obj.server : {};
  const s = shape.server.unwrap().shape;
  return {
    server: { publicUrl: pick(s.publicUrl, server.publicUrl), port: pick(s.port, server.port), host: pick(s.host, server.host) },
    tenants: (Array.isArray(obj.tenants) ? obj.tenants : []).map((raw) => {
      const r = isRecord(raw) ? raw : {};
      const kind = isRecord(r.idp) && typeof r.idp.kind === 'string' ? r.idp.kind : undefined;
      return { id: pick(t.id, r.id), domains: pick(t.domains, r.domains), policy: pick(t.policy, r.policy), idp: pick(idpSchema, r.idp), idpKind: kind };
    }),
    enrollmentServers: (Array.isArray(obj.enrollmentServers) ? obj.enrollmentServers : []).map(
      (s) => pick(shape.enrollmentServers.unwrap().element, s) ?? (isRecord(s) && typeof s.id === 'string' ? { id: s.id } : {}),
    ),
    discovery: pick(shape.discovery, obj.discovery),
  };
}

export function checkCrossRules(cfg: RulesInput, kinds: readonly string[] | undefined, demo: boolean): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const domainOwner = new Map<string, string>();

  cfg.tenants.forEach((t, i) => {
    if (t.id !== undefined) {
      if (ids.has(t.id)) problems.push(`tenants[${i}].id: duplicate tenant id ${t.id}`);
      ids.add(t.id);
    }
    t.domains?.forEach((d, j) => {
      const owner = domainOwner.get(d);
      if (owner) problems.push(`tenants[${i}].domains[${j}]: ${d} already belongs to tenant ${owner}`);
      else domainOwner.set(d, t.id ?? `#${i}`);
    });
    const kind = t.idp?.kind ?? t.idpKind;
    const available = kinds ?? upstreamKinds;
    if (kind && !available.includes(kind)) {
      // Named only when it reads like a kind: the admin API answers this text (never an echo of hostile input).
      const named = /^[a-z0-9-]{1,32}$/.test(String(kind)) ? String(kind) : 'this kind';
      problems.push(`tenants[${i}].idp.kind: ${named} is not available in this version (available: ${available.join(', ')})`);
    }
    const idp: IdpConfig | undefined = t.idp;
    // Each kind checks its own keys (src/upstreams/<kind>/); paths are below tenants[i].
    if (idp) for (const p of kindOf(idp.kind)?.rules?.(idp, t) ?? []) problems.push(`tenants[${i}].${p.path}: ${p.message}`);
    problems.push(...noWayToSignIn(t, i));
  });

  cfg.enrollmentServers.forEach((s, i) => {
    s.tenants?.forEach((tid, j) => {
      if (!ids.has(tid)) problems.push(`enrollmentServers[${i}].tenants[${j}]: no tenant with id ${tid}`);
    });
  });
  const seen = new Set<string>();
  cfg.enrollmentServers.forEach((s, i) => {
    // Demo mode's client secret is public by design; real ones must be random and long.
    if (!demo && s.secret !== undefined && s.secret.length < 16) problems.push(`enrollmentServers[${i}].secret: must be at least 16 characters (use a random value)`);
    if (s.id === undefined) return;
    if (seen.has(s.id)) problems.push(`enrollmentServers[${i}].id: duplicate client id ${s.id}`);
    seen.add(s.id);
  });

  if (cfg.discovery) {
    const a = new URL(cfg.discovery.enrollmentServiceUrl).host;
    const b = new URL(cfg.discovery.enrollmentPolicyServiceUrl).host;
    if (a !== b) {
      problems.push(
        `discovery.enrollmentPolicyServiceUrl: must be on the same host as enrollmentServiceUrl (${a}); the Windows client requires it`,
      );
    }
  }
  return problems;
}

/**
 * A tenant whose every sign-in would be refused: a `local` IdP (the only kind whose users are
 * known here) none of whose users passes the tenant binding and `policy.allowedGroups`.
 */
function noWayToSignIn(t: RulesInput['tenants'][number], i: number): string[] {
  if (t.idp?.kind !== 'local' || !t.domains) return [];
  const foreign = t.policy?.allowForeignDomains ?? false;
  const inDomain = t.idp.users.filter((u) => {
    const d = domainOf(u.upn);
    return foreign || (d !== null && t.domains!.includes(d));
  });
  if (inDomain.length === 0) {
    return [`tenants[${i}].idp.users: no user can sign in: none has a user name in the tenant's domains (${t.domains.join(', ')})`];
  }
  const groups = t.policy?.allowedGroups ?? [];
  if (groups.length && !inDomain.some((u) => u.groups.some((g) => groups.includes(g)))) {
    return [`tenants[${i}].policy.allowedGroups: no user can sign in: no local user of the tenant is in ${groups.join(', ')}`];
  }
  return [];
}

/**
 * Things a valid configuration allows but an operator should know about: printed by
 * `config check` (exit code still 0) and logged at start-up, each with its path.
 */
export function checkWarnings(cfg: Pick<ConfigFile, 'tenants'>): string[] {
  const warnings: string[] = [];
  const owner = new Map<string, string>();
  for (const t of cfg.tenants) for (const d of t.domains) owner.set(d, t.id);

  cfg.tenants.forEach((t, i) => {
    const foreign = t.policy.allowForeignDomains;
    if (foreign) {
      warnings.push(
        `tenants[${i}].policy.allowForeignDomains: tenant ${t.id} signs in users of any domain, not only ${t.domains.join(', ')}; ` +
          'its tokens may name users of other organizations (docs/configuration.md)',
      );
    }
    if (t.idp.kind !== 'local') return;
    t.idp.users.forEach((u, j) => {
      const domain = domainOf(u.upn);
      if (domain !== null && t.domains.includes(domain)) return;
      const other = domain !== null ? owner.get(domain) : undefined;
      const where = other ? `belongs to tenant ${other}` : `is not one of the tenant's domains (${t.domains.join(', ')})`;
      warnings.push(
        `tenants[${i}].idp.users[${j}].upn: ${domain === null ? 'has no domain' : `${domain} ${where}`}; ` +
          (foreign ? `tenant ${t.id} will sign this user in under its own id` : 'this user cannot sign in (policy.allowForeignDomains is off)'),
      );
    });
  });
  return warnings;
}
