import { defineConfig } from 'vitest/config';

// One run for the whole workspace: unit tests (*.test.ts beside the code) and
// integration tests (*.integration.test.ts, test/**) against the real local stack,
// which test/setup/stack.ts brings up once for the run.
export default defineConfig({
  test: {
    include: [
      'packages/**/src/**/*.test.ts',
      'services/**/src/**/*.test.ts',
      'test/**/*.test.ts',
      'infra/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**'],
    globalSetup: ['test/setup/stack.ts'],
    // Integration tests share one 2-core machine with Kafka and ClickHouse.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
