/** A Fedbridge service whose tenants sign in at a ScriptedIdp, and a sign-in driver for it. */
import { startService, type TestService } from '../../helpers/service.js';
import { driveSignIn, type SignInResult } from '../../helpers/oidc-provider.js';

export const APPRU = 'ms-app://windows.immersivecontrolpanel';
export const CLIENT_ID = 'fedbridge-client';
export const CLIENT_SECRET = 'scripted-client-secret-0123456789';

export interface TenantSpec {
  id: string;
  domain: string;
  issuer: string;
  idp?: Record<string, unknown>;
  policy?: Record<string, unknown>;
}

export function startWithTenants(tenants: TenantSpec[], extra: Record<string, unknown> = {}): Promise<TestService> {
  return startService({
    file: {
      server: { publicUrl: 'http://127.0.0.1:{{PORT}}' },
      ...extra,
      tenants: tenants.map((t) => ({
        id: t.id,
        displayName: t.id,
        domains: [t.domain],
        policy: t.policy ?? {},
        idp: {
          kind: 'oidc',
          issuer: t.issuer,
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          tokenEndpointAuthMethod: 'client_secret_post',
          ...t.idp,
        },
      })),
    },
  });
}

/** /auth with this hint, then whatever the IdP does, up to Fedbridge's final page. */
export function signInAs(svc: TestService, hint: string, appru = APPRU): Promise<SignInResult> {
  const url = `${svc.url}/auth?${new URLSearchParams({ appru, login_hint: hint })}`;
  return driveSignIn(svc.url, url, { login: hint, password: '' });
}
