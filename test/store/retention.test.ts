/** docs/operations.md "Audit retention": the service's periodic purge applies audit.retentionDays. */
import { randomUUID } from 'node:crypto';
import { afterEach, expect, it, vi } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';

const DAY = 86_400_000;
let svc: TestService | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await svc?.close();
  svc = undefined;
});

it('the periodic purge deletes audit events older than audit.retentionDays, and only those', async () => {
  // Only the intervals are faked: the purge runs when the test says so.
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  svc = await startService({ file: { audit: { retentionDays: 2 } } });
  expect(svc.config.audit.retentionDays).toBe(2);
  const store = svc.service.deps.store;
  const now = svc.clock.now();
  const tenantId = `t-${randomUUID()}`;
  const cutoff = now - 2 * DAY;
  await store.appendAudit([cutoff - 60_000, cutoff - 1, cutoff, cutoff + 1, now - DAY].map((at) => ({ at, type: 'retention.test', tenantId })));
  const ats = async () => (await store.queryAudit({ limit: 10, tenantId })).events.map((e) => e.at);
  expect(await ats()).toHaveLength(5);
  vi.advanceTimersByTime(60_000);
  await vi.waitFor(async () => expect(await ats()).toEqual([now - DAY, cutoff + 1, cutoff]), { timeout: 20_000, interval: 50 });
}, 60_000);

it('defaults to 90 days', async () => {
  svc = await startService({ file: {} });
  expect(svc.config.audit.retentionDays).toBe(90);
}, 60_000);
