import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real servers and child processes on port 0; a few files at a time
    // keeps a 2-core CI machine responsive.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
