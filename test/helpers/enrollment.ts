/**
 * A service configured like an MDM vendor's deployment: a local tenant for example.com
 * (alice, bob), discovery, the admin API and one introspection client.
 */
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { startService, type TestClock, type TestService } from './service.js';

export const PASSWORD = 'fedbridge-demo';
export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
export const AUDIENCE = 'urn:example:mdm';
export const APPRU = 'ms-app://windows.immersivecontrolpanel';
/** Config files refuse short secrets, so the demo client's own secret cannot be used here. */
export const CLIENT = { id: 'mdm', secret: 'mdm-secret-for-tests-0123456789' };

let hash: string | null = null;

export interface EnrollmentServiceOptions {
  clock?: TestClock;
  /** false: no discovery section; an object: these URLs instead of the defaults. */
  discovery?: false | Record<string, string>;
  admin?: boolean;
  /** Extra top-level config keys (merged shallowly). */
  extra?: Record<string, unknown>;
}

export function enrollmentConfig(opts: EnrollmentServiceOptions = {}): Record<string, unknown> {
  hash ??= hashPasswordSync(PASSWORD);
  const mdm = 'http://127.0.0.1:{{PORT}}/EnrollmentServer';
  return {
    store: { kind: 'sqlite', path: '{{DIR}}/data/fedbridge.db' },
    keys: { dir: '{{DIR}}/keys' },
    tokens: { ttlSeconds: 600, audience: AUDIENCE },
    enrollmentServers: [CLIENT],
    ...(opts.admin === false ? {} : { admin: { token: ADMIN_TOKEN } }),
    ...(opts.discovery === false
      ? {}
      : { discovery: opts.discovery ?? { enrollmentServiceUrl: `${mdm}/Enrollment.svc`, enrollmentPolicyServiceUrl: `${mdm}/Policy.svc` } }),
    log: { level: 'silent' },
    tenants: [
      {
        id: 'demo',
        displayName: 'Example Corp',
        domains: ['example.com'],
        idp: {
          kind: 'local',
          id: 'demo-local',
          users: [
            { upn: 'alice@example.com', name: 'Alice Example', passwordHash: hash, groups: ['staff'] },
            { upn: 'bob@example.com', name: 'Bob Example', passwordHash: hash },
          ],
        },
      },
    ],
    ...opts.extra,
  };
}

export function startEnrollmentService(opts: EnrollmentServiceOptions = {}): Promise<TestService> {
  return startService({ file: enrollmentConfig(opts), clock: opts.clock });
}
