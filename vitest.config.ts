import { defineConfig } from 'vitest/config';
import { LongestFirst } from './tests/helpers/sequencer.ts';

// Database suites run twice: on embedded PGlite and on the real PostgreSQL (127.0.0.1:5432, database `test`,
// or EASEL_TEST_PG_URL). Each test file gets its own database, so files run in parallel. They share their
// worker's module cache (`isolate: false`): every file builds its own harness, and no src module keeps state
// a test depends on, so only the imports (about 2 s a file) are saved.
const dbSuites = ['tests/routes/**/*.test.ts', 'tests/services/**/*.test.ts'];
// Migrates one database per project and run; each file copies it (tests/helpers/global-setup.ts).
const dbSetup = 'tests/helpers/global-setup.ts';
// Migrates one on-disk PGlite database that tests starting real servers copy into their DATA_DIR.
const serverSetup = 'tests/helpers/server-setup.ts';
// Node's event-stream sink before any file serves an app (tests/helpers/node-sink-first.ts says why).
const nodeSinkFirst = 'tests/helpers/node-sink-first.ts';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // vitest's default on 2 cores is 1 worker (cores − 1); much of a file's time is spent waiting on
    // PostgreSQL, child processes or chromium, so two files run at once.
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          globalSetup: [serverSetup],
          include: [
            'tests/unit/**/*.test.ts',
            'tests/channels/**/*.test.ts',
            'tests/node/**/*.test.ts',
            'tests/deno/**/*.test.ts',
          ],
        },
      },
      {
        extends: true,
        test: {
          name: 'pglite',
          include: dbSuites,
          env: { EASEL_TEST_DB: 'pglite' },
          globalSetup: [dbSetup],
          setupFiles: [nodeSinkFirst],
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: dbSuites,
          env: { EASEL_TEST_DB: 'postgres' },
          globalSetup: [dbSetup],
          setupFiles: [nodeSinkFirst],
          isolate: false,
        },
      },
      {
        // The browser tests: each file starts its own server (free port, temp DATA_DIR) and chromium, so they
        // run beside the other projects rather than in a group of their own at the end.
        extends: true,
        test: {
          name: 'e2e',
          globalSetup: [serverSetup],
          include: ['tests/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
