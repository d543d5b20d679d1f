/**
 * Write-only tenant secrets (docs/admin-api.md "Tenants"): the admin API never returns them, and a
 * replace that leaves one out keeps the stored value.
 *
 * A secret is any key named like one at any depth of the tenant's `idp` (the only part that holds
 * any; `branding.strings` keys are message names such as `password.title`, not secrets): the
 * kinds' secrets today are `idp.clientSecret` (oidc), `idp.users[].passwordHash` (local) and
 * `idp.spKeyFile` (saml, the SP's private key); the name rule also covers a kind added later
 * with a `…Secret`, `…Password…`, `…KeyFile` or `privateKey` key.
 */

// Not a bare "token": `tokenEndpointAuthMethod` is a setting, not a secret.
const SECRET_KEY = /secret|password|privatekey|keyfile/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stripDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDeep);
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!isSecretKey(k)) out[k] = stripDeep(x);
  return out;
}

/** A copy of a tenant document without any secret of its `idp`. */
export function stripSecrets(tenant: Record<string, unknown>): Record<string, unknown> {
  return 'idp' in tenant ? { ...tenant, idp: stripDeep(tenant.idp) } : { ...tenant };
}

/** How an element of an array is matched with the stored one: by `upn` or `id`, else by position. */
function elementKey(v: unknown, i: number): string {
  if (isRecord(v)) {
    if (typeof v.upn === 'string') return `upn:${v.upn.toLowerCase()}`;
    if (typeof v.id === 'string') return `id:${v.id}`;
  }
  return `#${i}`;
}

/**
 * The document a replace stores: `next` as written, where every secret key it leaves out is
 * taken from `stored` (same path; array elements matched by upn or id), and a secret key set to
 * `null` is removed (the way to drop an optional secret such as `idp.clientSecret`).
 * A secret of an object whose other keys moved elsewhere (another kind) is not carried over.
 */
export function keepSecrets(next: unknown, stored: unknown): unknown {
  if (!isRecord(next) || !('idp' in next)) return next;
  const old = isRecord(stored) ? stored.idp : undefined;
  return { ...next, idp: keepDeep(next.idp, old) };
}

function keepDeep(next: unknown, stored: unknown): unknown {
  if (Array.isArray(next)) {
    const before = new Map<string, unknown>();
    if (Array.isArray(stored)) stored.forEach((v, i) => before.set(elementKey(v, i), v));
    return next.map((v, i) => keepDeep(v, before.get(elementKey(v, i))));
  }
  if (!isRecord(next)) return next;
  const old = isRecord(stored) ? stored : {};
  // Another kind is another object: its secrets are not the old kind's.
  const sameKind = next.kind === undefined || next.kind === old.kind;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(next)) {
    if (isSecretKey(k) && v === null) continue;
    out[k] = isSecretKey(k) ? v : keepDeep(v, old[k]);
  }
  if (sameKind) {
    for (const [k, v] of Object.entries(old)) {
      if (isSecretKey(k) && !(k in next)) out[k] = v;
    }
  }
  return out;
}

/** The secret values of a tenant document's `idp` (to check none is ever sent back). */
export function secretValues(doc: unknown): string[] {
  const found: string[] = [];
  const walk = (v: unknown, secret: boolean) => {
    if (typeof v === 'string' && secret) found.push(v);
    else if (Array.isArray(v)) v.forEach((x) => walk(x, secret));
    else if (isRecord(v)) for (const [k, x] of Object.entries(v)) walk(x, secret || isSecretKey(k));
  };
  walk(isRecord(doc) ? doc.idp : undefined, false);
  return found;
}
