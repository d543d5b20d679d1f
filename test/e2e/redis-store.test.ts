/** The whole service on the Redis store: sign-in, introspection and the replay rule. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signIn } from '../helpers/html.js';
import { startService, type TestService } from '../helpers/service.js';
import { contosoTenant, ANN_PASSWORD } from '../helpers/mint.js';
import { startRedis } from '../helpers/redis.js';
import { buildEnrollEnvelope, buildGetPoliciesEnvelope } from '../../src/soap/build.js';

const SECRET = 'redis-test-secret-0123456789';
let redis: Awaited<ReturnType<typeof startRedis>>;
let svc: TestService;

beforeAll(async () => {
  redis = await startRedis();
  svc = await startService({
    file: {
      server: { publicUrl: 'http://127.0.0.1:{{PORT}}' },
      store: { kind: 'redis', url: redis.url },
      keys: { dir: '{{DIR}}/keys' },
      enrollmentServers: [{ id: 'mdm', secret: SECRET }],
      tenants: [contosoTenant()],
    },
  });
});
afterAll(async () => {
  await svc?.close();
  await redis?.stop();
});

it('signs in, introspects and enforces the replay rule with Redis as the store', async () => {
  const { token } = await signIn(svc.url, { appru: 'ms-app://windows.immersivecontrolpanel', hint: 'ann@contoso.test', user: 'ann@contoso.test', password: ANN_PASSWORD });
  expect(token).toBeTruthy();
  const ask = async (body: string) => {
    const res = await fetch(`${svc.url}/introspect`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`mdm:${SECRET}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token: body }),
    });
    return res.json();
  };
  expect(await ask(buildGetPoliciesEnvelope({ token: token! }))).toMatchObject({ active: true, message: 'GetPolicies' });
  expect(await ask(buildEnrollEnvelope({ token: token!, deviceId: 'D1' }))).toMatchObject({ active: true, replay: 'consumed' });
  expect(await ask(buildEnrollEnvelope({ token: token!, deviceId: 'D1' }))).toMatchObject({ active: true, replay: 'retry' });
  expect(await ask(buildEnrollEnvelope({ token: token!, deviceId: 'D2' }))).toMatchObject({ active: false, error: 'replayed' });
  const ready = await (await fetch(`${svc.url}/readyz`)).json();
  expect(ready).toEqual({ status: 'ready', store: 'redis' });
});
