/**
 * The stdout log destination (src/log.ts stdoutDestination) writes its batches from the main
 * thread: a synchronous write once LOG_BUFFER_BYTES have gathered, never fs.write on libuv's
 * thread pool, where WebCrypto's signature checks for /introspect run (docs/operations.md,
 * "Capacity"). fs is spied on, so nothing reaches the real stdout.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LOG_BUFFER_BYTES, stdoutDestination } from '../../src/log.js';

afterEach(() => vi.restoreAllMocks());

describe('stdout log destination', () => {
  it('gathers lines and writes each batch synchronously, off the thread pool', () => {
    const written: string[] = [];
    const writeSync = vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, data: string | Uint8Array) => {
      expect(fd).toBe(1);
      written.push(String(data));
      return Buffer.byteLength(data as string);
    }) as typeof fs.writeSync);
    const write = vi.spyOn(fs, 'write');
    const dest = stdoutDestination();
    const line = `${JSON.stringify({ msg: 'request', pad: 'x'.repeat(180) })}\n`;
    let sent = 0;
    // Below the batch size: nothing written yet, the lines wait in memory.
    while (sent + line.length < LOG_BUFFER_BYTES) {
      dest.write(line);
      sent += line.length;
    }
    expect(writeSync).not.toHaveBeenCalled();
    // The line that fills the batch writes it at once, within this call.
    dest.write(line);
    sent += line.length;
    expect(writeSync).toHaveBeenCalledTimes(1);
    expect(written.join('')).toBe(line.repeat(sent / line.length));
    // What is left is written out by flushSync (at exit, on a fatal error), also synchronously.
    dest.write(line);
    dest.flushSync();
    expect(written.join('')).toBe(line.repeat(sent / line.length + 1));
    expect(write).not.toHaveBeenCalled();
  });
});
