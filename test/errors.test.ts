import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';
import { ASSERTION_ERROR_CODES } from '../src/upstreams/assertion/errors.js';

describe('error codes are a closed, documented set', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]));

  it('docs/errors.md lists every code, and no code that does not exist', () => {
    const codes = [...Object.keys(ERROR_CODES), ...ASSERTION_ERROR_CODES];
    expect([...documented].sort()).toEqual([...codes].sort());
  });

  it('no code is defined twice', () => {
    const overlap = ASSERTION_ERROR_CODES.filter((c) => c in ERROR_CODES);
    expect(overlap).toEqual([]);
  });
});
