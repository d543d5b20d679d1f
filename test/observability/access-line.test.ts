/**
 * The access-log line written by src/log.ts accessLineWriter is byte for byte the line pino
 * writes for the same fields (same logger options as createLogger), whatever the fields hold,
 * and the cached timestamp is pino's ISO time of the moment of writing.
 */
import { describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { accessLineWriter, createLogger, isoTime, REDACT_PATHS, type AccessFields } from '../../src/log.js';

function capture() {
  const lines: string[] = [];
  return { lines, stream: { write: (s: string) => void lines.push(s) } };
}

/** The line pino itself writes with createLogger's options. */
function pinoLine(f: AccessFields): string {
  const { lines, stream } = capture();
  const log = pino({ level: 'info', base: { service: 'fedbridge' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  log.child({}, { redact: [] }).info(f, 'request');
  return lines[0];
}

const FIELDS: AccessFields[] = [
  { reqId: '0b7f7f0e-8a39-4d55-9d39-4a3a7a4c1e0b', method: 'POST', url: '/introspect', status: 200, ms: 1.2, ip: '127.0.0.1' },
  { reqId: 'client-id_1.2', method: 'GET', url: '/auth?[redacted]', status: 302, ms: 0, ip: '::ffff:10.0.0.1' },
  // A trusted proxy's X-Forwarded-For is whatever it says: quotes, backslashes, control and latin-1 characters.
  { reqId: 'abcdefgh', method: 'PROPFIND', url: '/a"b\\c', status: 404, ms: 12345.6, ip: '1.2.3.4"}, "level":60, "x":"\\\u0001\u007f\u00e9ÿ' },
  { reqId: 'x'.repeat(64), method: 'POST', url: '/' + 'é'.repeat(200), status: 500, ms: 99999999.9, ip: '' },
];

describe('accessLineWriter', () => {
  it('writes the bytes pino writes for the same fields', () => {
    vi.useFakeTimers({ now: new Date('2026-11-30T04:05:06.789Z'), toFake: ['Date'] });
    try {
      for (const f of FIELDS) {
        const { lines, stream } = capture();
        accessLineWriter(createLogger('info', stream))(f);
        expect(lines).toEqual([pinoLine(f)]);
        expect(JSON.parse(lines[0])).toMatchObject({ level: 30, time: '2026-11-30T04:05:06.789Z', service: 'fedbridge', ...f, msg: 'request' });
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it('follows the logger level: nothing below info, and a line again once info is back', () => {
    const { lines, stream } = capture();
    const log = createLogger('warn', stream);
    const write = accessLineWriter(log);
    write(FIELDS[0]);
    expect(lines).toEqual([]);
    log.level = 'info';
    write(FIELDS[0]);
    expect(lines).toHaveLength(1);
  });

  it('a logger not made by createLogger gets its own formatting through log.info', () => {
    const { lines, stream } = capture();
    const other = pino({ level: 'info', base: null, timestamp: false, messageKey: 'message' }, stream);
    accessLineWriter(other)(FIELDS[0]);
    expect(JSON.parse(lines[0])).toEqual({ level: 30, ...FIELDS[0], message: 'request' });
  });

  it('the cached time moves with the clock, to the millisecond', () => {
    vi.useFakeTimers({ now: new Date('2026-11-30T04:05:06.789Z'), toFake: ['Date'] });
    try {
      expect(isoTime()).toBe(',"time":"2026-11-30T04:05:06.789Z"');
      vi.setSystemTime(new Date('2026-11-30T04:05:06.790Z'));
      expect(isoTime()).toBe(',"time":"2026-11-30T04:05:06.790Z"');
    } finally {
      vi.useRealTimers();
    }
  });
});
