import type { MintInput } from '../../src/tokens/mint.js';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';

/** ann@contoso.test's password at the local IdP of contosoTenant(). */
export const ANN_PASSWORD = 'pw-1234567';

/** The tenant ann signs in to in a test config file: contoso, its one domain, a local IdP with ann. */
export function contosoTenant() {
  return { id: 'contoso', displayName: 'Contoso', domains: ['contoso.test'], idp: { kind: 'local', users: [{ upn: 'ann@contoso.test', passwordHash: hashPasswordSync(ANN_PASSWORD) }] } };
}

/**
 * What the service mints for ann@contoso.test signed in with a password at `now` (tenant contoso,
 * its local IdP; docs/enrollment-server.md): a 600 s token, no login hint, client or invitation.
 * The issuer and audience are the caller's; `over` changes any other field.
 */
export function annMintInput(now: number, over: Pick<MintInput, 'issuer' | 'audience'> & Partial<MintInput>): MintInput {
  return {
    identity: { subject: 'ann', upn: 'ann@contoso.test', groups: [], amr: ['pwd'], authTime: Math.floor(now / 1000), idp: { kind: 'local', id: 'contoso-local' } },
    tenantId: 'contoso',
    ttlSeconds: 600,
    loginHint: null,
    client: {},
    invitationId: null,
    now,
    ...over,
  };
}
