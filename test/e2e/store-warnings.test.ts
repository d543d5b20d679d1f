/**
 * Start-up warns when the store would forget on a restart (docs/operations.md), and the log says
 * when a running service finds that the store lost its state.
 */
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { enrollmentConfig } from '../helpers/enrollment.js';

let redis: TestRedis;
let svc: TestService;
const lines: { level: number; msg: string }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  svc = await startService({
    file: enrollmentConfig({ extra: { store: { kind: 'redis', url: redis.url } } }),
    log: pino({ level: 'info' }, sink),
  });
});
afterAll(async () => {
  await svc?.close();
  await redis?.stop();
});

const waitFor = async (re: RegExp) => {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    const hit = lines.find((l) => re.test(l.msg));
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no log line matching ${re}`);
};

it('warns at start-up that Redis has persistence off', async () => {
  const line = await waitFor(/^store durability: Redis has persistence off/);
  expect(line.level).toBe(40); // warn
  expect(line.msg).toContain('appendonly yes');
});

it('logs an error when Redis comes back empty after a restart', async () => {
  await redis.restart();
  const line = await waitFor(/^store lost its state: Redis lost its state/);
  expect(line.level).toBe(50); // error
  // The epochs are back in Redis (written at reconnect, before any replay decision).
  const raw = new Redis(redis.url);
  try {
    expect((await raw.keys('fedbridge:epoch:*')).length).toBe(16);
  } finally {
    raw.disconnect();
  }
}, 15_000);
