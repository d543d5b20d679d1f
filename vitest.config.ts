import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Re-recording fixtures is a tool, not a test: `npm run fixtures` runs it on demand.
    exclude: process.env.FEDBRIDGE_REGENERATE_FIXTURES ? [] : ['test/**/regenerate-*.test.ts', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real peers (Redis, oidc-provider, chromium) start per file; two cores only.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
