/** The built-in `local` IdP: users and scrypt hashes from the config file. */
import type { LocalIdpConfig, TenantConfig } from '../../config/schema.js';
import type { Identity } from '../../tokens/claims.js';
import type { Upstream, UpstreamDeps } from '../types.js';
import { verifyPassword } from './password.js';

export function createLocalUpstream(tenant: TenantConfig, deps: UpstreamDeps): Upstream {
  const cfg = tenant.idp as LocalIdpConfig;
  const id = cfg.id ?? `${tenant.id}-local`;
  const users = new Map(cfg.users.map((u) => [u.upn.toLowerCase(), u]));

  return {
    kind: 'local',
    id,
    async begin() {
      return { kind: 'password' };
    },
    async password(username, password): Promise<Identity | null> {
      const user = users.get(username.trim().toLowerCase());
      // verifyPassword runs scrypt even for unknown users: no timing oracle for user names.
      const ok = await verifyPassword(password, user?.passwordHash ?? null);
      if (!ok || !user) return null;
      return {
        subject: user.upn.toLowerCase(),
        upn: user.upn,
        email: user.email ?? user.upn,
        name: user.name,
        groups: user.groups,
        amr: ['pwd'],
        authTime: Math.floor(deps.now() / 1000),
        idp: { kind: 'local', id },
      };
    },
  };
}
