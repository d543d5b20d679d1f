/** Domain names as tenants own them (contract §2): compared case-insensitively, without a trailing dot. */

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
