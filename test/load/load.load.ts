/**
 * Load (issue #11): sign-ins through the real oidc-provider against two instances sharing one
 * Redis, each window starting at one instance and calling back at the other. Ramps concurrency
 * and reports where p99 stays under 5 s; then a burst of concurrent windows (500, short: 100)
 * must lose nothing, issue no jti twice and fail only with a clear page and Retry-After (classify
 * below says exactly which failures are Fedbridge's own); then
 * 50 Enrolls race for one token across both instances: exactly one wins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHORT, sleep, drive, enroll, enrollAll, report, serverSteps, startRig, summarize, verifyAll, window, type Outcome, type Rig } from './harness.js';

let rig: Rig;
beforeAll(async () => {
  // The instances and the test IdP are child processes (fedbridge serve; idp.child.mjs): this
  // process holds hundreds of clients, and sharing its event loop with Fedbridge and the IdP made
  // every window wait on all three (codes expiring at the IdP, its token endpoint answering late).
  rig = await startRig({ children: true, idpChild: true, idpTimeoutMs: 10_000 });
});
afterAll(async () => {
  await rig?.close();
});

type Page = Extract<Outcome, { kind: 'page' }>;

/**
 * Who each failed window's last page belongs to, exactly:
 *  - `idp`: the test IdP's own page (`where` is an IdP page): outside Fedbridge, reported;
 *  - `relayed`: Fedbridge's branded page for an IdP failure (code upstream_*): the IdP failed,
 *    and under load a retry can always help, so the page must carry Retry-After;
 *  - `fedbridge`: every other Fedbridge page: Fedbridge's own failure. Only shedding load is
 *    allowed (429 or 503 with Retry-After); anything else (a 500, a 4xx) fails the burst.
 * Connection errors and timeouts (`errors`) are not allowed at all.
 */
function classify(outs: Outcome[]) {
  const pages = outs.filter((o): o is Page => o.kind === 'page');
  const idp = pages.filter((p) => p.where.startsWith('IdP page'));
  const relayed = pages.filter((p) => !p.where.startsWith('IdP page') && p.code?.startsWith('upstream_'));
  const fedbridge = pages.filter((p) => !idp.includes(p) && !relayed.includes(p));
  const key = (p: Page) => `${p.status} ${p.code} retry-after=${p.retryAfter} at ${p.where}`;
  const count = (ps: Page[]) => ps.reduce<Record<string, number>>((acc, p) => ((acc[key(p)] = (acc[key(p)] ?? 0) + 1), acc), {});
  return { idp: count(idp), relayed: count(relayed), fedbridge: count(fedbridge), relayedPages: relayed, fedbridgePages: fedbridge };
}

function expectOnlyClearFailures(outs: Outcome[], s: ReturnType<typeof summarize>) {
  const c = classify(outs);
  for (const p of c.fedbridgePages) expect(`${p.status} ${p.code} retry-after=${p.retryAfter}`).toMatch(/^(429|503) \S+ retry-after=\d+$/);
  for (const p of c.relayedPages) expect(p.retryAfter, `${p.status} ${p.code} at ${p.where}`).toMatch(/^\d+$/);
  expect(s.errors).toEqual({});
}

describe('two instances, one Redis, windows alternating between them', () => {
  it('a window started at A finishes at B (and the other way) with a token that verifies and enrolls', async () => {
    for (const [start, finish] of [['A', 'B'], ['B', 'A']] as const) {
      const o = await window(rig, { start, finish, user: 1 });
      expect(o.kind, JSON.stringify(o)).toBe('token');
      const token = (o as { token: string }).token;
      expect((await verifyAll(rig, [token])).bad).toBe(0);
      expect((await enroll(rig.urls[finish === 'A' ? 'B' : 'A'], token, `smoke-${start}`)).json).toMatchObject({ active: true, replay: 'consumed' });
    }
  });

  it('ramp: the concurrency where p99 stays under 5 s', async () => {
    const levels = SHORT ? [4, 8, 16, 32] : [8, 16, 32, 64, 128, 256];
    const durationMs = SHORT ? 6_000 : 60_000;
    let best = 0;
    const rows = [];
    for (const c of levels) {
      const t0 = Date.now();
      const outs = await drive(rig, { concurrency: c, durationMs, maxWindows: c * 400, timeoutMs: 60_000 });
      const s = summarize(outs);
      const secs = (Date.now() - t0) / 1000;
      const { idp, relayed, fedbridge } = classify(outs);
      await sleep(1100); // the instances' access-log lines reach this process within a second (buffered stdout)
      const row = { concurrency: c, windows: s.windows, ok: s.ok, perSecond: Math.round((s.ok / secs) * 10) / 10, p50: s.p50, p99: s.p99, failures: { fedbridge, relayed, idp }, errors: s.errors, server: serverSteps(rig.log.since(t0)) };
      rows.push(row);
      report(`ramp c=${c} (${durationMs / 1000} s)`, row);
      // A level past the knee may fail (the IdP's own limits); it is reported and ends the ramp.
      // The burst below holds failures to the rule.
      const v = await verifyAll(rig, s.tokens);
      expect(v.bad).toBe(0);
      expect(v.duplicates).toBe(0);
      if (s.p99 < 5000 && s.ok === s.windows) best = c;
      else break; // past the knee: higher levels only queue more
    }
    report('ramp result: highest concurrency with p99 < 5 s and no failure', { best, levels });
    expect(best).toBeGreaterThan(0);
  });

  it(`burst: ${SHORT ? 100 : 500} concurrent windows: no duplicate jti, nothing acknowledged lost, failures only clear pages`, async () => {
    const n = SHORT ? 100 : 500;
    const t0 = Date.now();
    const outs = await drive(rig, { concurrency: n, durationMs: 120_000, maxWindows: n, timeoutMs: 120_000 });
    const s = summarize(outs);
    const secs = (Date.now() - t0) / 1000;
    const v = await verifyAll(rig, s.tokens, 'B');
    // Acknowledged = the window got a wresult page: its token must enroll, once.
    const enrolled = await enrollAll(rig, s.tokens, 'burst');
    await sleep(1100);
    const server = serverSteps(rig.log.since(t0));
    const { idp, relayed, fedbridge } = classify(outs);
    report(`burst of ${n} windows`, { seconds: secs, windows: s.windows, ok: s.ok, p50: s.p50, p99: s.p99, client: s.client, server, failures: { fedbridge, relayed, idp }, errors: s.errors, duplicates: v.duplicates, bad: v.bad, enrolled });
    expect(s.windows).toBe(n);
    expectOnlyClearFailures(outs, s);
    expect(v.bad).toBe(0);
    expect(v.duplicates).toBe(0);
    expect(enrolled).toEqual(s.ok ? { 'active consumed': s.ok } : {});
    // Every 5xx the instances logged is a page classified above (a relayed IdP failure or a 503
    // shedding load), never a 500.
    const pages5xx = outs.filter((o) => o.kind === 'page' && o.status >= 500).length;
    expect(Object.values(server).reduce((n, r) => n + r.s5xx, 0)).toBe(pages5xx);
    expect(rig.log.since(t0).filter((l) => l.status === 500)).toEqual([]);
  });

  it('50 Enrolls racing for one token across both instances: exactly one winner (several tokens)', async () => {
    const rounds = SHORT ? 5 : 20;
    const tally: Record<string, number>[] = [];
    // After the burst the test IdP may still be catching up (or its circuit open for a while):
    // the race needs sign-ins that work again first (bounded wait).
    const t0 = Date.now();
    for (let k = 0; k < 60 && Date.now() - t0 < 90_000; k++) {
      if ((await window(rig, { start: 'A', finish: 'B', user: 0, timeoutMs: 30_000 })).kind === 'token') break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    for (let r = 0; r < rounds; r++) {
      const o = await window(rig, { start: r % 2 ? 'A' : 'B', finish: r % 2 ? 'B' : 'A', user: r });
      expect(o.kind).toBe('token');
      const token = (o as { token: string }).token;
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => enroll(i % 2 ? rig.urls.A : rig.urls.B, token, `race-${r}-${i}`)));
      const counts: Record<string, number> = {};
      for (const a of answers) {
        const k = a.status === 200 ? (a.json.active ? `active ${a.json.replay}` : `refused ${a.json.error}`) : `${a.status}`;
        counts[k] = (counts[k] ?? 0) + 1;
      }
      tally.push(counts);
      expect(counts).toEqual({ 'active consumed': 1, 'refused replayed': 49 });
    }
    report(`enroll race (${rounds} tokens x 50 Enrolls, different DeviceIDs, both instances)`, tally[0]);
  });
});
