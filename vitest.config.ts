import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores here: more workers only add contention on the real services.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
