// Re-records test/fixtures/enrollment/ on demand only (`npm run fixtures`; excluded from `npm test`).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { regenerate } from '../fixtures/enrollment/generate.js';

describe('regenerate enrollment fixtures', () => {
  it('writes every fixture', async () => {
    const names = await regenerate(fileURLToPath(new URL('../fixtures/enrollment/', import.meta.url)));
    expect(names.length).toBeGreaterThan(10);
  });
});
