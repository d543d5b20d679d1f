/**
 * Faults under load (issue #11), each with what the person sees (the window's last page or
 * connection error) and what the enrollment server sees (/introspect answers): the IdP down,
 * frozen and answering garbage; Redis restarted with and without persistence; an instance
 * SIGKILLed mid-flow; a single SQLite-backed instance SIGKILLed during sign-ins and Enrolls and
 * restarted on the same file; key rotation while signing in. Nothing acknowledged is lost, nothing is
 * issued or consumed twice, and the service is healthy afterwards without a restart.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/service.js';
import {
  FedbridgeChild,
  SHORT,
  crashRedis,
  drive,
  enroll,
  enrollAll,
  report,
  serverSteps,
  sleep,
  startRig,
  summarize,
  verifyAll,
  waitReady,
  window,
  type Outcome,
  type Rig,
} from './harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
let rig: Rig | null = null;
afterEach(async () => {
  await rig?.close();
  rig = null;
});

/** Background sign-ins while a fault happens: `concurrency` workers until stop() (bounded). */
function background(r: Rig, concurrency = 4, timeoutMs = 15_000) {
  const outs: Outcome[] = [];
  let running = true;
  let i = 0;
  const deadline = Date.now() + 5 * 60_000;
  const done = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (running && Date.now() < deadline && i < 100_000) {
        const n = i++;
        outs.push(await window(r, { start: n % 2 ? 'B' : 'A', finish: n % 2 ? 'A' : 'B', user: n, timeoutMs }));
      }
    }),
  );
  return {
    outs,
    async stop() {
      running = false;
      await done;
      return outs;
    },
  };
}

/** Windows held at the callback until release(): they started before the fault, finish after. */
function midFlow(r: Rig, n: number, start: 'A' | 'B', finish: 'A' | 'B') {
  let release!: () => void;
  const gate = new Promise<void>((res) => (release = res));
  let arrived = 0;
  const results = Promise.all(
    Array.from({ length: n }, (_, k) =>
      window(r, {
        start,
        finish,
        user: k,
        timeoutMs: 60_000,
        pauseAtCallback: async () => {
          arrived++;
          await gate;
        },
      }),
    ),
  );
  return {
    async allAtCallback() {
      for (let k = 0; k < 400 && arrived < n; k++) await sleep(25);
      expect(arrived).toBe(n);
    },
    release,
    results,
  };
}

async function tokens(r: Rig, n: number): Promise<string[]> {
  const outs = await drive(r, { concurrency: 4, durationMs: 60_000, maxWindows: n });
  const s = summarize(outs);
  expect(s.ok).toBe(n);
  return s.tokens;
}

/** Nothing issued twice, no 500 from either instance (503s are the outage), both ready and signing in again. */
async function expectHealthyAfter(r: Rig, since: number, all: string[]) {
  const v = await verifyAll(r, all);
  expect(v.duplicates).toBe(0);
  const server = serverSteps(r.log.since(since));
  expect(r.log.since(since).filter((l) => l.status === 500)).toEqual([]);
  await waitReady(r.urls.A, 10_000);
  await waitReady(r.urls.B, 10_000);
  for (const [start, finish] of [['A', 'B'], ['B', 'A']] as const) {
    const o = await window(r, { start, finish, user: 7 });
    expect(o.kind, JSON.stringify(o)).toBe('token');
  }
  return server;
}

const brief = (outs: Outcome[]) => {
  const s = summarize(outs);
  return { windows: s.windows, ok: s.ok, pages: s.pages, errors: s.errors };
};

describe('the IdP fails', () => {
  for (const fault of ['down', 'frozen', 'garbage'] as const) {
    it(`IdP ${fault}: the person gets a clear page (or cannot reach the IdP), enrollment unaffected, sign-ins work again after`, async () => {
      rig = await startRig();
      const r = rig;
      const t0 = Date.now();
      const before = await tokens(r, 6);
      const held = midFlow(r, 4, 'A', 'B');
      await held.allAtCallback();
      const bg = background(r, 4, 8_000);
      await sleep(1000);
      if (fault === 'down') await r.idpControl!.down();
      else r.idpControl!.mode = fault;
      held.release();
      const mid = await held.results;
      await sleep(SHORT ? 4_000 : 15_000);
      // The enrollment server meanwhile: tokens issued before enroll (it needs no IdP).
      const enrolled = await enrollAll(r, before, `idp-${fault}`);
      if (fault === 'down') await r.idpControl!.up();
      else if (fault === 'frozen') r.idpControl!.thaw();
      else r.idpControl!.mode = 'ok';
      const recoverT = Date.now();
      // Sign-ins work again without restarting anything (the breaker may hold for a while).
      let back: Outcome | null = null;
      for (let k = 0; k < 120 && Date.now() - recoverT < 60_000; k++) {
        back = await window(r, { start: 'A', finish: 'B', user: 3, timeoutMs: 10_000 });
        if (back.kind === 'token') break;
        await sleep(500);
      }
      const recoveredMs = Date.now() - recoverT;
      const bgOuts = await bg.stop();
      const server = await expectHealthyAfter(r, t0, [...before, ...summarize([...mid, ...bgOuts]).tokens]);
      report(`fault: IdP ${fault}`, {
        personMidFlow: brief(mid),
        personDuringAndAfter: brief(bgOuts),
        enrollmentServer: enrolled,
        signInsBackAfterMs: recoveredMs,
        server,
      });
      expect(back?.kind).toBe('token');
      expect(enrolled).toEqual({ 'active consumed': before.length });
      // Mid-flow windows end on Fedbridge's branded page, never a token or a 500.
      for (const o of mid) {
        expect(o.kind).toBe('page');
        const p = o as Extract<Outcome, { kind: 'page' }>;
        expect(p.where).toBe('callback');
        expect(p.code).toMatch(/^upstream_/);
        expect(p.status).not.toBe(500);
      }
    });
  }
});

describe('Redis restarts', () => {
  for (const persistent of [true, false]) {
    it(`Redis crashed (SIGKILL) and restarted ${persistent ? 'with AOF' : 'without persistence'} under load`, async () => {
      rig = await startRig({ redisArgs: persistent ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : [] });
      const r = rig;
      const t0 = Date.now();
      const issued = await tokens(r, 10);
      const consumed = issued.slice(0, 5);
      const pending = issued.slice(5);
      expect(await enrollAll(r, consumed, 'before')).toEqual({ 'active consumed': 5 });
      const held = midFlow(r, 4, 'B', 'A');
      await held.allAtCallback();
      const bg = background(r, 4, 15_000);
      await sleep(1000);
      await crashRedis(r.redis.port);
      // While it is down: what the enrollment server sees.
      const downAnswer = await enroll(r.urls.A, pending[0]!, 'during');
      await sleep(1500);
      await r.redis.restart();
      const readyMs = await waitReady(r.urls.A, 15_000);
      held.release();
      const mid = await held.results;
      await sleep(SHORT ? 3_000 : 10_000);
      const bgOuts = await bg.stop();
      // After: consumed tokens again from another device, and the ones issued but not consumed.
      const replayConsumed = await enrollAll(r, consumed, 'thief');
      const pendingAfter = await enrollAll(r, pending, 'after');
      // Fresh sign-ins (past the 5 s margin after a loss) enroll.
      await sleep(persistent ? 0 : 6_000);
      const fresh = summarize(await drive(r, { concurrency: 4, durationMs: 30_000, maxWindows: 8 }));
      const freshEnrolled = await enrollAll(r, fresh.tokens, 'fresh');
      const all = [...issued, ...summarize([...mid, ...bgOuts]).tokens, ...fresh.tokens];
      const server = await expectHealthyAfter(r, t0, all);
      report(`fault: Redis SIGKILLed and restarted ${persistent ? 'with AOF (appendfsync everysec)' : 'without persistence'}`, {
        enrollmentServerWhileDown: { status: downAnswer.status, retryAfter: downAnswer.retryAfter, body: downAnswer.json },
        readyAgainMs: readyMs,
        personMidFlow: brief(mid),
        personDuringAndAfter: brief(bgOuts),
        enrollmentServer: { consumedBeforeTriedByOtherDevice: replayConsumed, issuedBeforeNotConsumed: pendingAfter, freshSignIns: freshEnrolled },
        server,
      });
      expect(downAnswer.status).toBe(503);
      expect(downAnswer.retryAfter).toBe('5');
      // Nothing consumed twice, whatever the store remembers.
      expect(replayConsumed).toEqual({ 'refused replayed': 5 });
      expect(fresh.ok).toBe(8);
      expect(freshEnrolled).toEqual({ 'active consumed': 8 });
      if (persistent) {
        // Nothing acknowledged lost: tokens issued before still enroll; held windows finish.
        expect(pendingAfter).toEqual({ 'active consumed': pending.length });
        for (const o of mid) expect(o.kind).toBe('token');
      } else {
        // Fail closed: tokens from before the loss are refused (the device signs in again);
        // windows whose transaction was lost end on a clear page.
        expect(pendingAfter).toEqual({ 'refused replayed': pending.length });
        for (const o of mid) expect(o.kind === 'page' && o.status < 500 ? o.code : o.kind).toBe('unknown_state');
      }
      // Failures during the outage: a 503 page with Retry-After, a clear 4xx page, or a
      // window cut off at the IdP step: never a 500.
      for (const o of bgOuts) if (o.kind === 'page') expect(o.status).not.toBe(500);
    });
  }
});

describe('an instance dies', () => {
  it('SIGKILL of an instance (node bin/fedbridge.js serve) mid-flow: the other finishes its windows; its tokens enroll', async () => {
    expect(existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js')), 'run npm run build first').toBe(true);
    rig = await startRig();
    const r = rig;
    const t0 = Date.now();
    const dir = mkdtempSync(join(tmpdir(), 'fedbridge-load-child-'));
    const port = await freePort();
    const cfgFile = join(dir, 'config.yaml');
    writeFileSync(cfgFile, stringify({ ...r.file(r.publicUrl), log: { level: 'warn' } }));
    const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin', 'fedbridge.js'), 'serve', '--config', cfgFile], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let childOut = '';
    child.stdout!.on('data', (c) => (childOut = (childOut + c).slice(-20_000)));
    child.stderr!.on('data', (c) => (childOut = (childOut + c).slice(-20_000)));
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, sig) => res(sig)));
    try {
      const childUrl = `http://127.0.0.1:${port}`;
      await waitReady(childUrl, 20_000).catch((e) => {
        throw new Error(`${e}\n${childOut}`);
      });
      // The balancer now sends "B" to the child.
      r.urls.B = childUrl;
      const issuedByChild: string[] = [];
      for (let k = 0; k < 4; k++) {
        const o = await window(r, { start: 'A', finish: 'B', user: k });
        expect(o.kind, JSON.stringify(o)).toBe('token');
        issuedByChild.push((o as { token: string }).token);
      }
      const held = midFlow(r, 6, 'B', 'B');
      await held.allAtCallback();
      const bg = background(r, 4, 10_000);
      await sleep(1500);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      const sawDead = await window(r, { start: 'A', finish: 'B', user: 1, timeoutMs: 5_000 });
      // The balancer takes the dead instance out: everything goes to A now.
      r.urls.B = r.urls.A;
      held.release();
      const mid = await held.results;
      await sleep(SHORT ? 2_000 : 10_000);
      const bgOuts = await bg.stop();
      const enrolled = await enrollAll(r, issuedByChild, 'child');
      const all = [...issuedByChild, ...summarize([...mid, ...bgOuts]).tokens];
      const server = await expectHealthyAfter(r, t0, all);
      const allEnrolled = await enrollAll(r, summarize([...mid, ...bgOuts]).tokens, 'after-kill');
      report('fault: instance SIGKILLed mid-flow', {
        personAtDeadInstance: sawDead.kind === 'error' ? sawDead.message : sawDead.kind,
        personMidFlowRoutedToSurvivor: brief(mid),
        personDuringAndAfter: brief(bgOuts),
        enrollmentServer: { issuedByKilledInstance: enrolled, issuedAround: allEnrolled },
        server,
      });
      // The person at the dead instance sees a connection error (the browser's page), not a token.
      expect(sawDead.kind).toBe('error');
      // Windows that started on the killed instance finish on the survivor: the transaction is in Redis.
      for (const o of mid) expect(o.kind, JSON.stringify(o)).toBe('token');
      expect(enrolled).toEqual({ 'active consumed': issuedByChild.length });
      expect(Object.keys(allEnrolled)).toEqual(['active consumed']);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a single SQLite instance dies', () => {
  it('kill -9 of the SQLite-backed instance during sign-ins and Enrolls, restarted on the same file: nothing acknowledged lost, nothing issued or consumed twice, healthy after', async () => {
    rig = await startRig();
    const r = rig;
    const dbDir = mkdtempSync(join(tmpdir(), 'fedbridge-load-sqlite-'));
    // One instance, its store a SQLite file; the balancer sends everything to it (publicUrl unchanged).
    const child = await FedbridgeChild.start({
      config: { ...r.file(r.publicUrl), store: { kind: 'sqlite', path: join(dbDir, 'fedbridge.db') }, log: { level: 'warn' } },
      inst: 'S',
    });
    try {
      r.urls.A = child.url;
      r.urls.B = child.url;
      /** Tokens the device got (a wresult page): acknowledged issuance. */
      const issued: string[] = [];
      /** Tokens whose Enroll answered active/consumed: acknowledged consumption. */
      const consumed: string[] = [];
      /** Tokens whose Enroll got no answer (the kill): consumed or not, either is right. */
      const unanswered: string[] = [];
      const enrollAnswers: Record<string, number> = {};
      const windowFailures: Outcome[] = [];
      let running = true;
      let n = 0;
      const deadline = Date.now() + 3 * 60_000;
      const workers = Array.from({ length: 4 }, async () => {
        while (running && Date.now() < deadline && n < 100_000) {
          const i = n++;
          const o = await window(r, { start: 'A', finish: 'B', user: i, timeoutMs: 15_000 });
          if (o.kind !== 'token') {
            windowFailures.push(o);
            await sleep(100);
            continue;
          }
          issued.push(o.token);
          const a = await enroll(child.url, o.token, `sqlite-${i}`).catch((e: Error) => ({ status: 0, retryAfter: null, json: { error: e.name } as Record<string, unknown> }));
          const k = a.status === 200 ? (a.json.active ? `active ${a.json.replay}` : `refused ${a.json.error}`) : `${a.status} ${a.json.error}`;
          enrollAnswers[k] = (enrollAnswers[k] ?? 0) + 1;
          if (k === 'active consumed') consumed.push(o.token);
          else unanswered.push(o.token);
        }
      });
      await sleep(SHORT ? 4_000 : 15_000);
      // Windows whose transaction was acknowledged (the /auth redirect) and that come back after the restart.
      const held = midFlow(r, 4, 'A', 'B');
      await held.allAtCallback();
      // Tokens whose Enrolls are on the wire when the process dies.
      const racing = await tokens(r, 6);
      issued.push(...racing);
      const before = { issued: issued.length, consumed: consumed.length };
      const inFlight = racing.map((t, k) =>
        enroll(child.url, t, `sqlite-race-${k}`).then(
          (a) => (a.status === 200 && a.json.active && a.json.replay === 'consumed' ? 'consumed' : `${a.status} ${String(a.json.error)}`),
          (e: Error) => `no answer (${e.name})`,
        ),
      );
      await sleep(5);
      const signal = await child.kill('SIGKILL');
      const raced = await Promise.all(inFlight);
      racing.forEach((t, k) => (raced[k] === 'consumed' ? consumed : unanswered).push(t));
      const sawDead = await window(r, { start: 'A', finish: 'B', user: 1, timeoutMs: 5_000 });
      await sleep(500);
      const restartT = Date.now();
      await child.spawn(); // same port, same config, same SQLite file
      const restartMs = Date.now() - restartT;
      held.release();
      const mid = await held.results;
      for (const o of mid) if (o.kind === 'token') issued.push(o.token);
      await sleep(SHORT ? 4_000 : 15_000);
      running = false;
      await Promise.all(workers);

      // Every acknowledged token verifies at the restarted instance; none issued twice.
      const v = await verifyAll(r, issued);
      // Every acknowledged consumption stayed: Enroll again from another device is refused as replayed.
      const again = await enrollAll(r, consumed, 'sqlite-thief');
      // Issued but the Enroll got no answer (it died under it): consumed once at most.
      const late = await enrollAll(r, unanswered, 'sqlite-late');
      const lateAgain = await enrollAll(r, unanswered, 'sqlite-late-thief');
      await waitReady(child.url, 10_000);
      const fresh = summarize(await drive(r, { concurrency: 2, durationMs: 30_000, maxWindows: 4 }));
      const freshEnrolled = await enrollAll(r, fresh.tokens, 'sqlite-fresh');
      report('fault: SQLite instance SIGKILLed during sign-ins and Enrolls, restarted on the same file', {
        killedWith: signal,
        beforeKill: before,
        restartReadyMs: restartMs,
        enrollsAtTheKill: raced,
        heldAcrossRestart: brief(mid),
        personAtDeadInstance: sawDead.kind === 'error' ? sawDead.message : sawDead.kind,
        issued: issued.length,
        consumedAcknowledged: consumed.length,
        enrollAnswers,
        windowFailures: brief(windowFailures),
        verify: { bad: v.bad, duplicates: v.duplicates },
        consumedTriedAgain: again,
        unansweredEnrolledAfter: late,
        fresh: { ok: fresh.ok, enrolled: freshEnrolled },
      });
      expect(signal).toBe('SIGKILL');
      expect(before.issued).toBeGreaterThan(0);
      expect(before.consumed).toBeGreaterThan(0);
      expect(issued.length).toBeGreaterThan(before.issued); // sign-ins went on after the restart
      // A transaction acknowledged before the kill finishes after the restart: it is in the file.
      for (const o of mid) expect(o.kind, JSON.stringify(o)).toBe('token');
      expect(v.bad).toBe(0);
      expect(v.duplicates).toBe(0);
      expect(again).toEqual(consumed.length ? { 'refused replayed': consumed.length } : {});
      // Each unanswered token: consumed now, or already consumed before the kill; never twice.
      for (const k of Object.keys(late)) expect(['active consumed', 'refused replayed']).toContain(k);
      expect(lateAgain).toEqual(unanswered.length ? { 'refused replayed': unanswered.length } : {});
      expect(fresh.ok).toBe(4);
      expect(freshEnrolled).toEqual({ 'active consumed': 4 });
      // Failures around the kill: a connection error, or a clear page (never a 500 page).
      for (const o of windowFailures) if (o.kind === 'page') expect(o.status, JSON.stringify(o)).not.toBe(500);
    } finally {
      await child.close();
      rmSync(dbDir, { recursive: true, force: true });
    }
  });
});

describe('key rotation', () => {
  it('fedbridge keys rotate on the shared keys directory while signing in: every token verifies at both instances and enrolls once', async () => {
    rig = await startRig();
    const r = rig;
    const t0 = Date.now();
    const dir = mkdtempSync(join(tmpdir(), 'fedbridge-load-rotate-'));
    try {
      const cfgFile = join(dir, 'config.yaml');
      writeFileSync(cfgFile, stringify({ ...r.file(r.publicUrl), log: { level: 'warn' } }));
      const bg = background(r, 8, 20_000);
      await sleep(2000);
      const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'fedbridge.js'), 'keys', 'rotate', '--config', cfgFile], { cwd: dir, timeout: 30_000 });
      // The new key signs after the JWKS max-age (2 s here): keep signing in past it.
      await sleep(SHORT ? 8_000 : 30_000);
      const outs = await bg.stop();
      const s = summarize(outs);
      const atA = await verifyAll(r, s.tokens, 'A');
      const atB = await verifyAll(r, s.tokens, 'B');
      const enrolled = await enrollAll(r, s.tokens, 'rotate');
      const again = await enrollAll(r, s.tokens.slice(0, 20), 'rotate-thief');
      const server = await expectHealthyAfter(r, t0, s.tokens);
      report('fault: keys rotated under load', { rotate: stdout.trim().split('\n')[0], ...brief(outs), kids: atA.kids.length, verifyFailsAtA: atA.bad, verifyFailsAtB: atB.bad, enrolled, consumedAgain: again, server });
      expect(s.ok).toBe(s.windows);
      expect(atA.kids.length).toBe(2); // tokens from before and after the rotation
      expect(atA.bad).toBe(0);
      expect(atB.bad).toBe(0);
      expect(atA.duplicates).toBe(0);
      expect(enrolled).toEqual({ 'active consumed': s.ok });
      expect(again).toEqual({ 'refused replayed': Math.min(20, s.ok) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
