import { defineConfig } from 'vitest/config';

// Database suites run twice: on embedded PGlite and on the real PostgreSQL (127.0.0.1:5432, database `test`,
// or EASEL_TEST_PG_URL). Each test file gets its own database, so files run in parallel.
const dbSuites = ['tests/routes/**/*.test.ts', 'tests/services/**/*.test.ts'];
// Migrates one database per project and run; each file copies it (tests/helpers/global-setup.ts).
const dbSetup = 'tests/helpers/global-setup.ts';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts', 'tests/channels/**/*.test.ts', 'tests/node/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'pglite', include: dbSuites, env: { EASEL_TEST_DB: 'pglite' }, globalSetup: [dbSetup] },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: dbSuites,
          env: { EASEL_TEST_DB: 'postgres' },
          globalSetup: [dbSetup],
        },
      },
      {
        // The browser tests: the real server and headless chromium, one file at a time.
        extends: true,
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
