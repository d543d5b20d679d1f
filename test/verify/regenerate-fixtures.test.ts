// Re-records test/fixtures/enrollment/ on demand only: FEDBRIDGE_REGENERATE_FIXTURES=1.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { regenerate } from '../fixtures/enrollment/generate.js';

describe.skipIf(!process.env.FEDBRIDGE_REGENERATE_FIXTURES)('regenerate enrollment fixtures', () => {
  it('writes every fixture', async () => {
    const names = await regenerate(fileURLToPath(new URL('../fixtures/enrollment/', import.meta.url)));
    expect(names.length).toBeGreaterThan(10);
  });
});
