/** Domain names as tenants own them (docs/configuration.md): compared case-insensitively, without a trailing dot. */

/**
 * The domain of a user name: the part after the last `@`, lower-cased, without a trailing
 * dot. null when there is no `user@domain` shape.
 */
export function domainOf(upn: string): string | null {
  const at = upn.lastIndexOf('@');
  if (at < 1) return null;
  const domain = upn.slice(at + 1).trim().toLowerCase().replace(/\.$/, '');
  return domain || null;
}

/**
 * Do two user names name the same user? The part before the last `@` compared
 * case-insensitively, the domain as `domainOf` gives it (so `Ann@Contoso.com.` is `ann@contoso.com`).
 */
export function sameUser(a: string, b: string): boolean {
  const norm = (u: string) => {
    const domain = domainOf(u);
    return domain === null ? u.toLowerCase() : `${u.slice(0, u.lastIndexOf('@')).toLowerCase()}@${domain}`;
  };
  return norm(a) === norm(b);
}
