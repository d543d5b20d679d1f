import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real peers (Redis, oidc-provider, chromium) start per file; two cores only.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
