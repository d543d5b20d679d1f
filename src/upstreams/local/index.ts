/** The `local` kind: users and scrypt hashes from the config file; the password page is ours. */
import type { Identity } from '../../tokens/claims.js';
import { defineKind, type KindProblem } from '../types.js';
import { localSchema, type LocalIdpConfig } from './config.js';
import { verifyPassword } from './password.js';

function localRules(cfg: LocalIdpConfig, tenant: { policy?: { requireMfa?: boolean } }): KindProblem[] {
  // The tenant binding (README, The sign-in flow) lives with the policy; this one is the kind's own: no second factor here.
  return tenant.policy?.requireMfa ? [{ path: 'policy.requireMfa', message: 'the local IdP cannot do MFA' }] : [];
}

export const localKind = defineKind({
  kind: 'local',
  schema: localSchema,
  rules: localRules,
  create(tenant, cfg, deps) {
    const id = cfg.id ?? `${tenant.id}-local`;
    const users = new Map(cfg.users.map((u) => [u.upn.toLowerCase(), u]));
    return {
      kind: 'local',
      id,
      async begin() {
        return { kind: 'password', prompt: 'email' };
      },
      async password({ username, password }): Promise<Identity | null> {
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
  },
});
