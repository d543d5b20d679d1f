import { defineConfig } from 'vitest/config';

// `npm run test:load` (full) and `npm run test:load:short` (FEDBRIDGE_LOAD=short, the CI form):
// the load, soak and fault suite under test/load/ (README, "Load and fault tests"). Its files end
// in .load.ts, so `npm test` (test/**/*.test.ts) never runs them. One file at a time: each
// measures the machine, and two at once would measure each other.
export default defineConfig({
  test: {
    include: ['test/load/**/*.load.ts'],
    testTimeout: 40 * 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    maxWorkers: 1,
    // The soak samples the heap after a full collection.
    execArgv: ['--expose-gc'],
    reporters: ['verbose'],
  },
});
