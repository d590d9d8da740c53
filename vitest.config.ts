import { defineConfig } from 'vitest/config';

// Two cores: a small fork pool; integration and e2e tests spawn the built server (and real editors), so they run
// one file at a time. e2e: test/e2e/setup.ts fetches the editors first (Debian packages into .cache/debian/); training:
// test/training/setup.ts fetches PyTorch.
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'], fileParallelism: false } },
      {
        // Against the real llama-server (Debian's llama.cpp, tiny generated models): module tests and the built server.
        extends: true,
        test: {
          name: 'llama',
          include: ['test/llama/**/*.test.ts'],
          fileParallelism: false,
          globalSetup: ['test/llama/setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Python with real PyTorch and transformers (Debian's, unpacked into .cache/debian/): the trainer and
        // `xencode train` on tiny models, one trainer process at a time.
        extends: true,
        test: {
          name: 'training',
          include: ['test/training/**/*.test.ts'],
          fileParallelism: false,
          globalSetup: ['test/training/setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          globalSetup: ['test/e2e/setup.ts'],
          testTimeout: 90_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
