/**
 * Red-team attacks on the /introspect hot-path changes (docs/operations.md, "Capacity"):
 * the batched SQLite replay reads (src/store/sqlite.ts consumedBy), the hand-written access-log
 * line (src/log.ts accessLineWriter), the body reader's UTF-8 check and duplicate-key scan
 * (src/http/rawbody.ts), the one-regex JWT shape and short-input size check
 * (src/soap/envelope.ts, src/verify/extract.ts), and node:crypto signing (src/tokens/sign.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, unlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { constants, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { pino } from 'pino';
import { jwtVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { SqliteStore } from '../../src/store/sqlite.js';
import { startService, testConfigFile, type TestService } from '../helpers/service.js';
import { annMintInput, contosoTenant } from '../helpers/mint.js';
import { createLogger, accessLineWriter } from '../../src/log.js';
import { mintToken } from '../../src/tokens/mint.js';
import { KeyRing, keyTiming, rotateKeys, type SigningAlg } from '../../src/tokens/keys.js';
import { verifyEnrollmentRequest } from '../../src/verify/index.js';
import { buildEnrollEnvelope, buildGetPoliciesEnvelope } from '../../src/soap/build.js';
import { looksLikeJwt } from '../../src/soap/envelope.js';
import { extractToken, MAX_INPUT_BYTES } from '../../src/verify/extract.js';
import { duplicateTopLevelKeys } from '../../src/http/rawbody.js';

const settleWithin = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p.then((v) => ({ settled: true as const, v })), new Promise<{ settled: false }>((r) => setTimeout(() => r({ settled: false }), ms))]);

// ---------------------------------------------------------------------------------------------
// 1. Batched replay reads (src/store/sqlite.ts consumedBy)
// ---------------------------------------------------------------------------------------------
describe('attack 1: batched SQLite replay reads', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fb-hotpath-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads of one turn each get their own answer (no cross-talk), consumes among them stay single', async () => {
    const now = Date.now();
    const store = SqliteStore.open(join(dir, 'a.sqlite'), { now: now - 60_000 });
    try {
      const N = 300;
      // Every third jti consumed by its own device; the rest not.
      for (let i = 0; i < N; i += 3) expect(await store.consumeToken(`j${i}`, `dev-${i}`, now + 600_000, now, now)).toBe('consumed');
      // All reads asked in the same turn, interleaved with two consumes of one fresh jti by two devices.
      const reads: Array<Promise<string | null>> = [];
      const consumes: Array<Promise<string>> = [];
      for (let i = 0; i < N; i++) {
        reads.push(store.consumedBy(`j${i}`, now, now));
        if (i === 10) consumes.push(store.consumeToken('fresh', 'dev-A', now + 600_000, now, now));
        if (i === 20) consumes.push(store.consumeToken('fresh', 'dev-B', now + 600_000, now, now));
      }
      // A token issued before the epoch's notBefore: '' (refused), whatever the marker.
      const old = store.consumedBy('j1', now, now - 3_600_000);
      const freshRead = store.consumedBy('fresh', now, now);
      const got = await Promise.all(reads);
      for (let i = 0; i < N; i++) expect(got[i]).toBe(i % 3 === 0 ? `dev-${i}` : null);
      expect(await Promise.all(consumes)).toEqual(['consumed', 'replayed']);
      expect(await old).toBe('');
      expect(await freshRead).toBe('dev-A');
    } finally {
      await store.close();
    }
  });

  it('a flood of 100 000 reads in one turn all settle with the right answers', async () => {
    const now = Date.now();
    const store = SqliteStore.open(join(dir, 'flood.sqlite'), { now: now - 60_000 });
    try {
      await store.consumeToken('hot', 'dev-1', now + 600_000, now, now);
      const ps: Array<Promise<string | null>> = [];
      for (let i = 0; i < 100_000; i++) ps.push(store.consumedBy(i % 2 ? 'hot' : `cold-${i}`, now, now));
      const got = await Promise.all(ps);
      expect(got.filter((g) => g === 'dev-1')).toHaveLength(50_000);
      expect(got.filter((g) => g === null)).toHaveLength(50_000);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('store closed with reads pending: every read rejects (503 store_unavailable), none hangs', async () => {
    const now = Date.now();
    const store = SqliteStore.open(join(dir, 'closed.sqlite'), { now: now - 60_000 });
    await store.consumeToken('c', 'dev-1', now + 600_000, now, now);
    const ps = [store.consumedBy('c', now, now), store.consumedBy('d', now, now), store.consumedBy('c', now, now)];
    await store.close();
    const results = await settleWithin(Promise.allSettled(ps), 5000);
    expect(results.settled).toBe(true);
    const all = (results as { v: PromiseSettledResult<string | null>[] }).v;
    for (const r of all) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'store_unavailable', status: 503 });
    }
    // And a read asked after the close: rejected too (not left pending).
    const later = await settleWithin(store.consumedBy('c', now, now).then(() => 'resolved', () => 'rejected'), 5000);
    expect(later).toEqual({ settled: true, v: 'rejected' });
  });

  it('SQLite file replaced with reads pending: the batch reads the new file, refuses older tokens (fail closed)', async () => {
    const path = join(dir, 'replaced.sqlite');
    const now = Date.now();
    const lost: string[] = [];
    const store = SqliteStore.open(path, { now: now - 60_000, onStateLost: (d) => lost.push(d) });
    try {
      expect(await store.consumeToken('r', 'dev-1', now + 600_000, now, now)).toBe('consumed');
      // The file is restored from "elsewhere": deleted and recreated empty by another process.
      for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
      SqliteStore.open(path, { now: now - 60_000 }).close();
      // A read-only check looks at the file at most once a second: wait past that.
      await new Promise((r) => setTimeout(r, 1100));
      const ps = [store.consumedBy('r', now, now), store.consumedBy('r', now, now), store.consumedBy('other', now, now)];
      // Tokens issued before the loss: '' (refused as replayed), for every read in the batch.
      expect(await Promise.all(ps)).toEqual(['', '', '']);
      expect(lost).toHaveLength(1);
      // The Enroll of the consumed token on the new file: refused too.
      expect(await store.consumeToken('r', 'dev-2', now + 600_000, now, now)).toBe('replayed');
    } finally {
      await store.close();
    }
  });

  it('the file turned unopenable with reads pending: the batch rejects (503), none hangs', async () => {
    const path = join(dir, 'broken.sqlite');
    const now = Date.now();
    const store = SqliteStore.open(path, { now: now - 60_000 });
    try {
      await store.consumeToken('b', 'dev-1', now + 600_000, now, now);
      for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
      mkdirSync(path); // a directory where the file was: SQLite cannot open it
      await new Promise((r) => setTimeout(r, 1100));
      const ps = [store.consumedBy('b', now, now), store.consumedBy('x', now, now)];
      const results = await settleWithin(Promise.allSettled(ps), 5000);
      expect(results.settled).toBe(true);
      for (const r of (results as { v: PromiseSettledResult<string | null>[] }).v) expect(r.status).toBe('rejected');
      // The consume path, which always looks first, refuses too.
      await expect(store.consumeToken('b', 'dev-2', now + 600_000, now, now)).rejects.toMatchObject({ code: 'store_unavailable' });
    } finally {
      await store.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Real service: Enroll/GetPolicies races, access-log lines, body reader
// ---------------------------------------------------------------------------------------------
const SECRET = 'hotpath-mdm-secret-0123456789abcdef';
const AUTH = `Basic ${Buffer.from(`mdm:${SECRET}`).toString('base64')}`;
const lines: string[] = [];
let svc: TestService;

async function token(s: TestService = svc): Promise<string> {
  const { token } = await mintToken(s.service.deps.keys, annMintInput(s.clock.now(), { issuer: s.config.server.publicUrl, audience: 'urn:test:mdm' }));
  return token;
}

function post(body: string | Buffer, headers: Record<string, string> = {}, s: TestService = svc, path = '/introspect') {
  return fetch(`${s.url}${path}`, { method: 'POST', headers: { Authorization: AUTH, 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });
}

/** Raw bytes over a socket (for bytes fetch will not send); resolves with the whole answer. */
function raw(bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const port = Number(new URL(svc.url).port);
    const chunks: Buffer[] = [];
    const sock = connect(port, '127.0.0.1', () => sock.write(bytes));
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', () => undefined);
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    setTimeout(() => sock.destroy(), 5000);
  });
}

describe('against a real service (trustProxy: true, createLogger lines captured)', () => {
  beforeAll(async () => {
    svc = await startService({
      log: createLogger('info', { write: (s: string) => void lines.push(s) }),
      file: testConfigFile({
        server: { publicUrl: 'http://127.0.0.1:{{PORT}}', trustProxy: true },
        tokens: { ttlSeconds: 600, audience: 'urn:test:mdm' },
        enrollmentServers: [{ id: 'mdm', secret: SECRET }],
        tenants: [contosoTenant()],
      }),
    });
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
  });

  describe('attack 1 over HTTP: GetPolicies and Enroll of one token, all at once', () => {
    it('exactly one Enroll is accepted; the others (other devices) are refused, every GetPolicies answers', async () => {
      for (let round = 0; round < 3; round++) {
        const t = await token();
        const enroll = (dev: string) => post(JSON.stringify({ token: buildEnrollEnvelope({ token: t, deviceId: dev }) }));
        const policies = () => post(JSON.stringify({ token: buildGetPoliciesEnvelope({ token: t }) }));
        const reqs: Array<Promise<Response>> = [];
        for (let i = 0; i < 40; i++) reqs.push(i % 5 === 0 ? enroll(`DEV-${round}-${i}`) : policies());
        const answers = await Promise.all(reqs.map(async (p) => (await p).json() as Promise<Record<string, unknown>>));
        const enrolls = answers.filter((_, i) => i % 5 === 0);
        const accepted = enrolls.filter((a) => a.active === true);
        expect(accepted).toHaveLength(1);
        expect(accepted[0]).toMatchObject({ replay: 'consumed', message: 'Enroll' });
        for (const a of enrolls.filter((x) => x.active !== true)) expect(a.error).toBeTruthy();
        // Afterwards a new Enroll from yet another device is refused too.
        expect(await (await enroll(`LATE-${round}`)).json()).toMatchObject({ active: false });
        // Each GetPolicies answer is about this token (no other request's answer).
        for (const a of answers.filter((_, i) => i % 5 !== 0)) {
          expect(a.message).toBe('GetPolicies');
          if (a.active) expect(a.upn).toBe('ann@contoso.test');
        }
      }
    }, 60_000);
  });

  describe('attack 2: access-log line injection', () => {
    const FIELDS = ['level', 'time', 'service', 'reqId', 'method', 'url', 'status', 'ms', 'ip', 'msg'];

    /** What pino itself writes for the same fields (time and ms aside). */
    function pinoLine(f: Record<string, unknown>): string {
      const out: string[] = [];
      const ref = createLogger('info', { write: (s: string) => void out.push(s) });
      ref.child({}, { redact: [] }).info(f, 'request');
      return out[0];
    }

    it('hostile X-Forwarded-For, X-Request-Id and URLs: one valid JSON line each, pino\'s bytes, no secret', async () => {
      const hostile = [
        '"}\\n{"level":60,"msg":"pwned', // quote/backslash break-out
        'a\\"b\\\\c',
        '\u00e9\u00ff\u0080\u009f', // latin1 bytes (header values are latin1)
        'x'.repeat(8000),
        '<script>',
        ' 10.0.0.1 , 10.0.0.2',
        'a\tb',
      ];
      const t = await token();
      for (const xff of hostile) {
        lines.length = 0;
        const header = Buffer.from(xff, 'latin1');
        const body = JSON.stringify({ token: t });
        // To the lean path and to Koa (a query string: /introspect?token=… is Koa's).
        for (const path of ['/introspect', `/introspect?token=${encodeURIComponent(t)}&secret=${SECRET}`]) {
          const req = Buffer.concat([
            Buffer.from(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${AUTH}\r\nContent-Type: application/json\r\nX-Request-Id: "}\r\nX-Forwarded-For: `),
            header,
            Buffer.from(`\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`),
          ]);
          const ans = await raw(req);
          expect(ans).toMatch(/^HTTP\/1\.1 200 /);
        }
        const access = lines.filter((l) => l.includes('"msg":"request"'));
        expect(access).toHaveLength(2);
        for (const line of access) {
          expect(line.endsWith('\n')).toBe(true);
          expect(line.slice(0, -1)).not.toMatch(/[\n\r]/);
          const o = JSON.parse(line) as Record<string, unknown>;
          expect(Object.keys(o)).toEqual(FIELDS);
          expect(o.ip).toBe(xff.trim().split(/\s*,\s*/).at(-1)); // one trusted proxy: the entry it appended
          expect(o.reqId).not.toContain('"'); // the invalid X-Request-Id was replaced
          expect(line).not.toContain(t);
          expect(line).not.toContain(t.split('.')[2]);
          expect(line).not.toContain(SECRET);
          // The same bytes pino writes for these fields (the time and duration differ).
          const ref = pinoLine({ reqId: o.reqId, method: o.method, url: o.url, status: o.status, ms: o.ms, ip: o.ip });
          expect(line.replace(/"time":"[^"]*"/, '')).toBe(ref.replace(/"time":"[^"]*"/, ''));
        }
      }
    }, 60_000);

    it('odd methods and request-target bytes (quotes, backslashes, latin1, %00): the line stays one valid JSON line', async () => {
      for (const method of ['M-SEARCH', 'PROPFIND', 'SOURCE', 'PURGE', 'MKCALENDAR']) {
        lines.length = 0;
        await raw(Buffer.from(`${method} /introspect HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
        const access = lines.filter((l) => l.includes('"msg":"request"'));
        expect(access).toHaveLength(1);
        expect(JSON.parse(access[0])).toMatchObject({ method, url: '/introspect' });
      }
      const targets = [Buffer.from('/x"y\\z'), Buffer.from([0x2f, 0xe9, 0xff, 0x22, 0x5c, 0x7b]), Buffer.from('/%00%0a%22?a=%0d%0a'), Buffer.from(`/${'%22'.repeat(2000)}`)];
      for (const target of targets) {
        lines.length = 0;
        const ans = await raw(Buffer.concat([Buffer.from('GET '), target, Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')]));
        expect(ans).toMatch(/^HTTP\/1\.1 \d{3} /);
        for (const line of lines.filter((l) => l.includes('"msg":"request"'))) {
          expect(line.slice(0, -1)).not.toMatch(/[\n\r]/);
          const o = JSON.parse(line) as Record<string, unknown>;
          expect(Object.keys(o)).toEqual(FIELDS);
          const ref = pinoLine({ reqId: o.reqId, method: o.method, url: o.url, status: o.status, ms: o.ms, ip: o.ip });
          expect(line.replace(/"time":"[^"]*"/, '')).toBe(ref.replace(/"time":"[^"]*"/, ''));
        }
      }
    });

    it('writer fields that no HTTP request can give (lone surrogates, U+2028, NaN) still make one JSON line', () => {
      const out: string[] = [];
      const write = accessLineWriter(createLogger('info', { write: (s: string) => void out.push(s) }));
      write({ reqId: 'r\ud800', method: 'GET\n', url: '/\u2028\udfff"\\', status: 200, ms: Number.NaN, ip: '\u0000\u001f' });
      expect(out).toHaveLength(1);
      // (U+2028 stays raw, as pino and JSON.stringify write it: valid JSON, not a line break to a log reader.)
      expect(out[0].slice(0, -1)).not.toMatch(/[\n\r]/);
      const o = JSON.parse(out[0]) as Record<string, unknown>;
      expect(o).toMatchObject({ reqId: 'r\ud800', method: 'GET\n', url: '/\u2028\udfff"\\', ms: null, ip: '\u0000\u001f' });
      // A disabled level writes nothing.
      const silent: string[] = [];
      accessLineWriter(createLogger('warn', { write: (s: string) => void silent.push(s) }))({ reqId: 'r', method: 'GET', url: '/', status: 200, ms: 1, ip: '' });
      expect(silent).toEqual([]);
      // A logger not made by createLogger goes through pino (with its own fields).
      const other: string[] = [];
      accessLineWriter(pino({ base: { x: 1 } }, { write: (s: string) => void other.push(s) }))({ reqId: 'r', method: 'GET', url: '/', status: 200, ms: 1, ip: '' });
      expect(JSON.parse(other[0])).toMatchObject({ x: 1, reqId: 'r', msg: 'request' });
    });
  });

  describe('attack 3: body reader', () => {
    const status = async (body: string | Buffer, type = 'application/json') => {
      const r = await post(body, { 'Content-Type': type });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };

    it('duplicate keys hidden by escapes, after long strings and tricky backslashes: 400', async () => {
      const t = await token();
      const long = 'a'.repeat(200_000);
      const bodies = [
        `{"token":${JSON.stringify(t)},"tok\\u0065n":"x"}`,
        `{"tok\\u0065n":"x","token":${JSON.stringify(t)}}`,
        `{"\\u0074\\u006f\\u006b\\u0065\\u006e":"x","token":${JSON.stringify(t)}}`,
        `{"a":"\\\\","token":${JSON.stringify(t)},"token":"x"}`,
        `{"a":"\\\\\\"","token":${JSON.stringify(t)},"token":"x"}`,
        `{"a":"\\"token\\":","token":${JSON.stringify(t)},"token":"x"}`,
        `{"a":"${long}","token":${JSON.stringify(t)},"token":"x"}`,
        `{"a":"${'\\\\'.repeat(60_000)}","token":${JSON.stringify(t)},"token":"x"}`,
        `{"o":{"p":["}",{"q":"]"}]},"token":${JSON.stringify(t)},"token":"x"}`,
        `{"token":${JSON.stringify(t)},"consume":"false","consume":"true"}`,
      ];
      for (const b of bodies) {
        const r = await status(b);
        expect(r.status, b.slice(0, 80)).toBe(400);
        expect(r.body.error).toBe('invalid_request');
      }
    }, 60_000);

    it('no false duplicate: the same key nested, inside strings, or after escaped quotes is fine', async () => {
      const t = await token();
      const bodies = [
        `{"o":{"token":"x","token":"y"},"token":${JSON.stringify(t)}}`,
        `{"a":"\\",\\"token\\":\\"","token":${JSON.stringify(t)}}`,
        `{"a":"${'\\"'.repeat(50_000)}","token":${JSON.stringify(t)}}`,
        `\ufeff{"token":${JSON.stringify(t)}}`, // a leading byte order mark is dropped
      ];
      for (const b of bodies) {
        const r = await status(b);
        expect(r.status, b.slice(0, 80)).toBe(200);
        expect(r.body.active).toBe(true);
      }
      expect(duplicateTopLevelKeys(`{"a":"${'\\\\'.repeat(100_000)}\\"","b":1,"b":2}`)).toEqual(['b']);
    });

    it('bodies built to make the string regex slow or overflow, up to the 256 KiB limit: answered', async () => {
      const limit = 256 * 1024;
      const pad = (prefix: string, unit: string, suffix: string) => prefix + unit.repeat(Math.floor((limit - prefix.length - suffix.length) / unit.length)) + suffix;
      const bodies = [
        pad('{"token":"', '\\\\', '"}'),
        pad('{"token":"', '\\"', '"}'),
        pad('{"token":"', '\\u0041', '"}'),
        pad('{"a":[', '"",', '""],"token":"x"}'),
        pad('{"token":"', '\\', ''), // unterminated: not JSON
        pad('{"token":"', '"', ''),
        pad('[', '"\\\\', ''),
      ];
      for (const b of bodies) {
        expect(Buffer.byteLength(b)).toBeLessThanOrEqual(limit);
        const r = await status(b);
        expect([200, 400]).toContain(r.status);
        if (r.status === 200) expect(r.body.active).toBe(false);
      }
      // One byte over: 413.
      expect((await status(`{"token":"${'a'.repeat(limit)}"}`)).status).toBe(413);
    }, 120_000);

    it('a chunked body in 1-byte chunks (BOM and a 4-byte character cut across chunks) reads as one text', async () => {
      const t = await token();
      const send = async (bytes: Buffer) => {
        const chunks = [...bytes].map((b) => Buffer.concat([Buffer.from('1\r\n'), Buffer.from([b]), Buffer.from('\r\n')]));
        const head = Buffer.from(`POST /introspect HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${AUTH}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`);
        return raw(Buffer.concat([head, ...chunks, Buffer.from('0\r\n\r\n')]));
      };
      const good = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`{"x":"😀é","token":${JSON.stringify(t)}}`)]);
      const ok = await send(good);
      expect(ok).toMatch(/^HTTP\/1\.1 200 /);
      expect(ok).toContain('"active":true');
      // The same with one byte of the emoji missing: 400.
      const cut = Buffer.from(good);
      const at = cut.indexOf(Buffer.from('😀'));
      const bad = Buffer.concat([cut.subarray(0, at + 3), cut.subarray(at + 4)]);
      expect(await send(bad)).toMatch(/^HTTP\/1\.1 400 /);
    }, 60_000);

    it('invalid UTF-8 variants: 400, never decoded with U+FFFD', async () => {
      const t = await token();
      const pre = Buffer.from(`{"token":${JSON.stringify(t)},"x":"`);
      const post_ = Buffer.from('"}');
      const bad = [
        [0xc0, 0xaf], // overlong "/"
        [0xe0, 0x80, 0xaf], // overlong
        [0xed, 0xa0, 0x80], // a surrogate (CESU)
        [0xed, 0xbf, 0xbf],
        [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
        [0xf8, 0x88, 0x80, 0x80, 0x80], // five bytes
        [0xe2, 0x82], // cut
        [0x80],
        [0xff],
        [0xfe, 0xff],
      ];
      for (const b of bad) {
        for (const type of ['application/json', 'application/x-www-form-urlencoded']) {
          const body = type === 'application/json' ? Buffer.concat([pre, Buffer.from(b), post_]) : Buffer.concat([Buffer.from(`token=${encodeURIComponent(t)}&x=`), Buffer.from(b)]);
          const r = await status(body, type);
          expect(r.status, `${Buffer.from(b).toString('hex')} ${type}`).toBe(400);
        }
        // Cut at the very end of the body.
        expect((await status(Buffer.concat([Buffer.from(`{"token":${JSON.stringify(t)}}`), Buffer.from(b)]))).status).toBe(400);
      }
      // Two byte order marks: the second is content (not JSON white space).
      expect((await status(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), Buffer.from(`{"token":${JSON.stringify(t)}}`)]))).status).toBe(400);
      // A good 4-byte character is fine.
      expect((await status(`{"token":${JSON.stringify(t)},"x":"😀"}`)).status).toBe(200);
    }, 60_000);
  });
});

// ---------------------------------------------------------------------------------------------
// 4. The JWT shape regex and the short-input size check
// ---------------------------------------------------------------------------------------------
/** looksLikeJwt before this session (e4e2e74), for the differential. */
function oldLooksLikeJwt(s: string): boolean {
  if (typeof s !== 'string') return false;
  const parts = s.split('.');
  if (parts.length !== 3) return false;
  const [header, payload, signature] = parts as [string, string, string];
  if (header.length === 0 || payload.length === 0) return false;
  if (![header, payload, signature].every((p) => /^[A-Za-z0-9_-]*$/.test(p))) return false;
  if (header.length % 4 === 1) return false;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

describe('attack 4: JWT shape and input size', () => {
  it('looksLikeJwt answers as before on a hostile corpus', async () => {
    const h = Buffer.from('{"alg":"ES256"}').toString('base64url');
    const corpus = [
      `${h}.e30.sig`, `${h}.e30.`, `${h}..sig`, `.e30.sig`, `${h}.e30.sig.`, `${h}.e30.sig\n`, `\n${h}.e30.sig`, ` ${h}.e30.sig`,
      `${h}.e30.si=g`, `${h}.e30.si+g`, `${h}.e3/0.sig`, `${h}\n.e30.sig`, `${h}.e30\u2028.sig`, `${h}.e30.sig\u0000`,
      `${h}.e30.s\u0130g`, `${h}x.e30.sig`, `${h}.e30`, `${h}`, '', '..', 'a.b.c', `${Buffer.from('[1]').toString('base64url')}.e30.x`,
      `${Buffer.from('{"alg":1}').toString('base64url')}.e30.x`, `${h}.${'A'.repeat(200_000)}.${'_'.repeat(1000)}`,
    ];
    for (let i = 0; i < 2000; i++) {
      const alphabet = 'A-_.=+/ \n\u00e9aZ9{}"';
      let s = `${h}.`;
      for (let k = 0; k < 1 + (i % 12); k++) s += alphabet[(i * 7 + k * 13) % alphabet.length];
      corpus.push(s, s.split('').reverse().join(''));
    }
    for (const s of corpus) expect(looksLikeJwt(s), JSON.stringify(s.slice(0, 60))).toBe(oldLooksLikeJwt(s));
  });

  it('the size check counts UTF-8 bytes exactly near 128 KiB (multi-byte, astral, lone surrogates)', () => {
    const cases = [
      '€'.repeat(43_690), '€'.repeat(43_691), 'é'.repeat(65_536), 'é'.repeat(65_537), '😀'.repeat(32_768), '😀'.repeat(32_769),
      '\ud800'.repeat(43_690), '\ud800'.repeat(43_691), `${'a'.repeat(MAX_INPUT_BYTES - 2)}é`, `${'a'.repeat(MAX_INPUT_BYTES - 1)}é`,
      `<${'€'.repeat(43_691)}`, `${'a'.repeat(MAX_INPUT_BYTES)}`, `${'a'.repeat(MAX_INPUT_BYTES + 1)}`,
    ];
    for (const s of cases) {
      const over = Buffer.byteLength(s) > MAX_INPUT_BYTES;
      const r = extractToken(s);
      const refusedForSize = !r.ok && /larger than/.test(JSON.stringify(r));
      expect(refusedForSize, `${s.length} units, ${Buffer.byteLength(s)} bytes`).toBe(over);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 5. node:crypto signing for every keys.algorithm, and rotation
// ---------------------------------------------------------------------------------------------
describe('attack 5: tokens signed with node:crypto', () => {
  const ALGS: SigningAlg[] = ['ES256', 'RS256', 'PS256', 'EdDSA'];
  for (const alg of ALGS) {
    it(`${alg}: /introspect, fedbridge/verify and jose accept it; a wrong encoding is refused`, async () => {
      const s = await startService({
        file: testConfigFile({
          keys: { dir: '{{DIR}}/keys', algorithm: alg },
          tokens: { ttlSeconds: 600, audience: 'urn:test:mdm' },
          enrollmentServers: [{ id: 'mdm', secret: SECRET }],
          tenants: [contosoTenant()],
        }),
      });
      try {
        const t = await token(s);
        expect(decodeProtectedHeader(t)).toMatchObject({ alg, typ: 'JWT' });
        const jwks = (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, unknown>> };
        const now = s.clock.now();
        // jose, against the published JWKS, this algorithm only.
        await jwtVerify(t, createLocalJWKSet(jwks as never), { algorithms: [alg], currentDate: new Date(now) });
        // fedbridge/verify.
        const v = await verifyEnrollmentRequest(t, { issuer: s.config.server.publicUrl, keys: jwks as never, audience: 'urn:test:mdm', now: () => now });
        expect(v.ok).toBe(true);
        // /introspect.
        expect(await (await post(JSON.stringify({ token: t }), {}, s)).json()).toMatchObject({ active: true, upn: 'ann@contoso.test' });

        const [h, p, sig] = t.split('.');
        const input = Buffer.from(`${h}.${p}`);
        const jwk = jwks.keys.find((k) => k.kid === decodeProtectedHeader(t).kid)!;
        const pub = createPublicKey({ key: jwk as never, format: 'jwk' });
        const keyFile = s.service.deps.keys.signingKey(now);
        const bad: string[] = [];
        if (alg === 'ES256') {
          expect(Buffer.from(sig, 'base64url')).toHaveLength(64); // IEEE P1363 r||s, not DER
          bad.push(nodeSign('sha256', input, { key: keyFile.keyObject, dsaEncoding: 'der' }).toString('base64url'));
        }
        if (alg === 'PS256') {
          // The salt is the digest length (RFC 7518 §3.5): verifies with saltLength 32 exactly.
          expect(nodeVerify('sha256', input, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, Buffer.from(sig, 'base64url'))).toBe(true);
          expect(nodeVerify('sha256', input, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 0 }, Buffer.from(sig, 'base64url'))).toBe(false);
          bad.push(nodeSign('sha256', input, { key: keyFile.keyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 0 }).toString('base64url'));
          bad.push(nodeSign('sha256', input, { key: keyFile.keyObject, padding: constants.RSA_PKCS1_PADDING }).toString('base64url'));
        }
        if (alg === 'RS256') bad.push(nodeSign('sha256', input, { key: keyFile.keyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }).toString('base64url'));
        if (alg === 'EdDSA') bad.push(Buffer.from(sig, 'base64url').reverse().toString('base64url'));
        for (const b of bad) {
          const forged = `${h}.${p}.${b}`;
          await expect(jwtVerify(forged, createLocalJWKSet(jwks as never), { currentDate: new Date(now) })).rejects.toThrow();
          expect((await verifyEnrollmentRequest(forged, { issuer: s.config.server.publicUrl, keys: jwks as never, audience: 'urn:test:mdm', now: () => now })).ok).toBe(false);
          expect(await (await post(JSON.stringify({ token: forged }), {}, s)).json()).toMatchObject({ active: false });
        }
      } finally {
        await s.close();
      }
    }, 60_000);
  }

  for (const alg of ['RS256', 'PS256'] as const) {
    it(`${alg}: a key file with a 1024-bit RSA key mints no token (jose, and so /introspect, would refuse it)`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fb-weak-'));
      try {
        const now = Date.now();
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
        writeFileSync(join(dir, 'weak.json'), JSON.stringify({ kid: 'weak', alg, privateJwk: privateKey.export({ format: 'jwk' }), createdAt: now - 1000, activateAt: now - 1000, retireAt: null }));
        const ring = await KeyRing.open(dir, alg, keyTiming({ keys: { jwksMaxAgeSeconds: 300 }, tokens: { ttlSeconds: 600 } }), now, () => now);
        // As with jose's SignJWT before node:crypto signed: the mint fails, no unverifiable token goes out.
        await expect(mintToken(ring, annMintInput(now, { issuer: 'http://fb.test', audience: 'urn:test:mdm' }))).rejects.toThrow(/2048/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('rotation on a running service: a new key file (another algorithm) signs once due; /introspect accepts its token', async () => {
    const s = await startService({
      file: testConfigFile({
        keys: { dir: '{{DIR}}/keys', algorithm: 'ES256', jwksMaxAgeSeconds: 300 },
        tokens: { ttlSeconds: 600, audience: 'urn:test:mdm' },
        enrollmentServers: [{ id: 'mdm', secret: SECRET }],
        tenants: [contosoTenant()],
      }),
    });
    try {
      const before = await token(s);
      const timing = keyTiming({ keys: { jwksMaxAgeSeconds: 300 }, tokens: { ttlSeconds: 600 } });
      const { kid } = await rotateKeys(join(s.dir, 'keys'), 'EdDSA', timing, s.clock.now());
      await s.service.deps.keys.reload();
      // Not yet due: still the old key.
      expect(decodeProtectedHeader(await token(s)).kid).toBe(decodeProtectedHeader(before).kid);
      s.clock.advance(2 * 300_000 + 1000);
      const after = await token(s);
      expect(decodeProtectedHeader(after)).toMatchObject({ kid, alg: 'EdDSA' });
      const jwks = (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
      expect(jwks.keys.map((k) => k.kid)).toContain(kid);
      expect(await (await post(JSON.stringify({ token: after }), {}, s)).json()).toMatchObject({ active: true });
      // The new key's signature under the old kid: refused (the kid picks the key).
      const [, p, sig] = after.split('.');
      const oldHeader = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: decodeProtectedHeader(before).kid, typ: 'JWT' })).toString('base64url');
      expect(await (await post(JSON.stringify({ token: `${oldHeader}.${p}.${sig}` }), {}, s)).json()).toMatchObject({ active: false });
    } finally {
      await s.close();
    }
  }, 60_000);

  it('rotation: after the new key may sign, tokens carry its kid and verify with it alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-rot-'));
    try {
      let now = Date.now();
      const timing = keyTiming({ keys: { jwksMaxAgeSeconds: 300 }, tokens: { ttlSeconds: 600 } });
      const ring = await KeyRing.open(dir, 'ES256', timing, now, () => now);
      const first = ring.signingKey(now).kid;
      const { kid, activateAt } = await rotateKeys(dir, 'PS256', timing, now);
      await ring.reload();
      now = activateAt + 10 * 300_000; // well past the activation and any late pick-up delay
      expect(ring.signingKey(now).kid).toBe(kid);
      const { token: t } = await mintToken(ring, annMintInput(now, { issuer: 'http://fb.test', audience: 'urn:test:mdm' }));
      expect(decodeProtectedHeader(t)).toMatchObject({ kid, alg: 'PS256' });
      const jwks = ring.jwks(now);
      const only = (k: string) => createLocalJWKSet({ keys: jwks.keys.filter((j) => j.kid === k).map((j) => ({ ...j, kid: kid })) });
      await jwtVerify(t, only(kid), { currentDate: new Date(now) });
      if (jwks.keys.some((j) => j.kid === first)) await expect(jwtVerify(t, only(first), { currentDate: new Date(now) })).rejects.toThrow();
      // The old key's file is gone: a reload keeps signing with the new one.
      try {
        unlinkSync(join(dir, `${first}.json`));
      } catch {
        /* already removed */
      }
      await ring.reload();
      expect(ring.signingKey(now).kid).toBe(kid);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
