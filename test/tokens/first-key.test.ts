import { mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyRing } from '../../src/tokens/keys.js';

const timing = { jwksMaxAgeSeconds: 300, tokenTtlSeconds: 600 };
const keyFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('.'));

describe('the first key of an empty keys directory', () => {
  it('is created once when several instances start together, and all of them sign with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-first-key-'));
    const now = Date.now();
    const rings = await Promise.all(Array.from({ length: 6 }, () => KeyRing.open(dir, 'ES256', timing, now)));
    expect(keyFiles(dir)).toHaveLength(1);
    const kids = new Set(rings.map((r) => r.signingKey(now).kid));
    expect(kids.size).toBe(1);
    for (const r of rings) expect(r.jwks(now).keys.map((k) => k.kid)).toEqual([...kids]);
    expect(readdirSync(dir).some((f) => f.startsWith('.first-key'))).toBe(false);
  });

  it('takes over a lock left behind by a process that died while creating it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-first-key-'));
    const lock = join(dir, '.first-key.lock');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const ring = await KeyRing.open(dir, 'ES256', timing, Date.now());
    expect(keyFiles(dir)).toHaveLength(1);
    expect(ring.signingKey(Date.now()).kid).toBe(keyFiles(dir)[0].replace(/\.json$/, ''));
  });
});
