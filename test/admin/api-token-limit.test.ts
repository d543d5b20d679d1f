/**
 * Wrong admin tokens are limited per client network (limits.adminTokenPerIp, docs/admin-api.md,
 * Authentication), counted before the comparison so concurrent guesses cannot slip past; callers
 * without the right token are logged, never audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startEnrollmentService } from '../helpers/enrollment.js';
import { TestClock, type TestService } from '../helpers/service.js';

let svc: TestService;
// Five seconds into a minute, so one test's calls all fall in one rate-limit window.
const clock = new TestClock(Math.floor(Date.now() / 60_000) * 60_000 + 5_000);
beforeAll(async () => {
  svc = await startEnrollmentService({ clock, extra: { limits: { adminTokenPerIp: 5 } } });
}, 60_000);
afterAll(() => svc?.close());

const call = (token: string) => fetch(`${svc.url}/admin/api/v1/keys`, { headers: { authorization: `Bearer ${token}` } });

describe('wrong admin tokens', () => {
  it('a right token gives its slot back: many right calls are never limited', async () => {
    for (let i = 0; i < 12; i++) expect((await call(ADMIN_TOKEN)).status).toBe(200);
  });

  it('20 concurrent wrong tokens: exactly 5 are compared (401), the rest 429 with Retry-After; then even the right token waits for the next minute', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call(`wrong-token-${i}-0123456789abcdef`)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    const limited = answers.find((r) => r.status === 429)!;
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(await limited.json()).toMatchObject({ error: 'too_many_attempts' });
    expect((await call(ADMIN_TOKEN)).status).toBe(429);
    clock.advance(60_000);
    expect((await call(ADMIN_TOKEN)).status).toBe(200);
  });

  it('are not audited (a flood cannot push real events out of the audit log); right calls are', async () => {
    await svc.service.deps.audit.flush();
    const before = await svc.service.deps.store.queryAudit({ limit: 1000, type: 'admin.listKeys' });
    for (let i = 0; i < 3; i++) expect((await call(`another-wrong-token-${i}-abcdef`)).status).toBe(401);
    expect((await call(ADMIN_TOKEN)).status).toBe(200);
    await svc.service.deps.audit.flush();
    const after = await svc.service.deps.store.queryAudit({ limit: 1000, type: 'admin.listKeys' });
    expect(after.events.length - before.events.length).toBe(1);
    expect(after.events[0]!.detail).toMatchObject({ status: 200 });
  });
});
