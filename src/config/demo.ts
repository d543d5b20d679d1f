/** Demo mode: the embedded defaults `npm start` runs with when no config file is given. */
import { hashPasswordSync } from '../upstreams/local/password.js';

export const DEMO_PASSWORD = 'fedbridge-demo';
export const DEMO_AUDIENCE = 'urn:fedbridge:demo';
export const DEMO_CLIENT = { id: 'demo', secret: 'fedbridge-demo' } as const;

export const DEMO_BANNER =
  'DEMO MODE: embedded defaults, not for production. Users alice@example.com and bob@example.com, ' +
  `password "${DEMO_PASSWORD}"; introspection client "${DEMO_CLIENT.id}" / "${DEMO_CLIENT.secret}".`;

export function demoConfigFile(env: NodeJS.ProcessEnv): unknown {
  const hash = hashPasswordSync(DEMO_PASSWORD);
  return {
    store: { kind: 'sqlite', path: env.FEDBRIDGE_DATA ? `${env.FEDBRIDGE_DATA}/fedbridge.db` : './data/fedbridge.db' },
    keys: { dir: env.FEDBRIDGE_KEYS ?? './keys', algorithm: 'ES256' },
    tokens: { ttlSeconds: 600, audience: DEMO_AUDIENCE },
    enrollmentServers: [{ id: DEMO_CLIENT.id, secret: DEMO_CLIENT.secret }],
    tenants: [
      {
        id: 'demo',
        displayName: 'Example Corp (demo)',
        domains: ['example.com'],
        branding: { primaryColor: '#0067b8', signInText: 'Demo users: alice@example.com, bob@example.com' },
        idp: {
          kind: 'local',
          id: 'demo-local',
          users: [
            { upn: 'alice@example.com', name: 'Alice Example', email: 'alice@example.com', passwordHash: hash, groups: ['staff'] },
            { upn: 'bob@example.com', name: 'Bob Example', email: 'bob@example.com', passwordHash: hash, groups: [] },
          ],
        },
      },
    ],
  };
}
