/** Logs are JSON lines with a request id, and never carry secrets, tokens or query strings. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { signIn } from '../helpers/html.js';
import { startService, type TestService } from '../helpers/service.js';
import { createInvitation } from '../../src/invitations/index.js';
import { buildEnrollEnvelope } from '../../src/soap/build.js';

const lines: string[] = [];
let svc: TestService;

beforeAll(async () => {
  svc = await startService({ log: createLogger('debug', { write: (s: string) => void lines.push(s) }) });
});
afterAll(() => svc.close());

it('a whole sign-in, a wrong password and an introspection leave no secret in the logs', async () => {
  const { accesstoken } = await createInvitation(svc.service.deps.store, { tenantId: 'demo', upn: 'alice@example.com', ttlSeconds: 600, now: svc.clock.now() });
  const wrong = await signIn(svc.url, { appru: 'ms-app://windows.immersivecontrolpanel', hint: 'alice@example.com', user: 'alice@example.com', password: 'Wr0ng-Passw0rd!' });
  expect(wrong.res.status).toBe(401);
  const { token } = await signIn(svc.url, {
    appru: 'ms-app://windows.immersivecontrolpanel',
    hint: 'alice@example.com',
    user: 'alice@example.com',
    password: 'fedbridge-demo',
    extra: { accesstoken, deviceidentifier: 'SECRET-DEVICE-QUERY-VALUE' },
  });
  expect(token).toBeTruthy();
  const res = await fetch(`${svc.url}/introspect`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('demo:fedbridge-demo').toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token: buildEnrollEnvelope({ token: token!, deviceId: 'D' }) }),
  });
  expect(((await res.json()) as { active: boolean }).active).toBe(true);
  await svc.service.deps.audit.flush();

  const all = lines.join('');
  expect(lines.length).toBeGreaterThan(5);
  for (const line of lines) {
    const entry = JSON.parse(line);
    if (entry.msg === 'request') expect(entry.reqId).toMatch(/^[0-9a-f-]{36}$/);
  }
  const jti = JSON.parse(Buffer.from(token!.split('.')[1], 'base64url').toString()).jti;
  expect(all).toContain(jti); // the jti is how a token is named in logs
  for (const secret of [token!, token!.split('.')[2], 'Wr0ng-Passw0rd!', accesstoken, 'SECRET-DEVICE-QUERY-VALUE', 'login_hint=', Buffer.from('demo:fedbridge-demo').toString('base64')]) {
    expect(all).not.toContain(secret);
  }
  expect(all).toContain('/auth?[redacted]');
});
