import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites start real servers (ngircd, PostgreSQL, the simulator) on loopback;
    // files run in parallel workers, each picking free ports.
    pool: 'forks',
  },
});
