import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The cluster tests, apart from `npm test` (they need the local cluster, and
// take minutes): npx vitest run --config test/cluster/vitest.config.ts
// One file at a time: each one loads the whole cluster of a 2-core machine.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/cluster/**/*.integration.test.ts'],
    exclude: ['**/node_modules/**'],
    globalSetup: ['test/support/cluster-setup.ts'],
    env: { OPTOUT_CLUSTER_TESTS: '1' },
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 600_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
});
