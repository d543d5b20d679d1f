/**
 * Browsers ask for /favicon.ico with every page. The pages have no icon (docs/branding.md), so the
 * answer is an empty 204 kept by the browser for a week: not the 404 error page, and not a refusal
 * in the log. Any other unknown path still gets the error page and its log line.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';

let svc: TestService;
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  });
  svc = await startService({ log: pino({ level: 'info' }, sink) });
}, 60_000);
afterAll(() => svc?.close());

/** Refusals logged so far (the line carries the request id and code, not the path: counted around each request). */
async function refusals(): Promise<number> {
  await new Promise((r) => setTimeout(r, 100)); // let pino's sink take the lines
  return logs.filter((l) => l.msg === 'request refused').length;
}

it('GET and HEAD /favicon.ico answer an empty 204 with a long Cache-Control, and nothing is logged as refused', async () => {
  const before = await refusals();
  for (const method of ['GET', 'HEAD']) {
    const res = await fetch(`${svc.url}/favicon.ico`, { method, headers: { accept: 'image/avif,image/webp,image/*,*/*;q=0.8' } });
    expect(res.status, method).toBe(204);
    expect(await res.text()).toBe('');
    const maxAge = Number(/max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1] ?? 0);
    expect(res.headers.get('cache-control')).toMatch(/^public, /);
    expect(maxAge).toBeGreaterThanOrEqual(86_400);
    expect(res.headers.get('content-type')).toBeNull();
  }
  expect(await refusals()).toBe(before);
  // The same count sees the refusal of another unknown path (answered with the 404 error page).
  const other = await fetch(`${svc.url}/favicon.png`);
  expect(other.status).toBe(404);
  expect(other.headers.get('content-type')).toMatch(/^text\/html/);
  expect(await refusals()).toBe(before + 1);
}, 30_000);
