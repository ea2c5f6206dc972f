import { test as base } from 'vitest';
import { openTestDatabase } from './database.ts';
import { createHarness, type Harness, type HarnessOptions, type TestUser } from './harness.ts';
import type { SseReader } from './sse.ts';

/** How `alice`, `bob` or `admin` is made (`h.createUser`'s options; `admin` is always an admin). */
export type FixtureUserOptions = NonNullable<Parameters<Harness['createUser']>[0]>;

/** The file-scoped fixtures, for helpers that take several: `getItem({ h, admin }: Pick<Fixtures, 'h' | 'admin'>, id)`. */
export interface Fixtures {
  h: Harness;
  alice: TestUser;
  bob: TestUser;
  admin: TestUser;
}

/**
 * A test API with the file's harness and three users on it as file-scoped fixtures: `h` (closed after the
 * file's last test), `alice` and `bob` (users) and `admin` (an admin). Each is made the first time a test or
 * a `test.beforeAll` of the file asks for it, so a file opens one database however many tests it has, and a
 * file that names none of them opens none. `streams` is the test's own: the event streams it pushes there
 * are closed when it finishes.
 * @example const test = harnessTest({ config: { authMode: 'single' } });
 * @example const test = harnessTest({}, { alice: { displayName: 'Alice' } });
 */
export function harnessTest(
  opts?: HarnessOptions,
  users: Partial<Record<'alice' | 'bob' | 'admin', FixtureUserOptions>> = {},
) {
  return (
    base
      // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern.
      .extend('h', { scope: 'file' }, async ({}, { onCleanup }) => {
        const h = await createHarness(opts);
        onCleanup(() => h.close());
        return h;
      })
      .extend('alice', { scope: 'file' }, ({ h }) => h.createUser(users.alice))
      .extend('bob', { scope: 'file' }, ({ h }) => h.createUser(users.bob))
      .extend('admin', { scope: 'file' }, ({ h }) => h.createUser({ ...users.admin, isAdmin: true }))
      // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern.
      .extend('streams', async ({}, { onCleanup }) => {
        const streams: SseReader[] = [];
        onCleanup(async () => {
          await Promise.all(streams.splice(0).map((s) => s.close()));
        });
        return streams;
      })
  );
}

/** Users with display names, for files whose assertions show them: `harnessTest({}, NAMED_USERS)`. */
export const NAMED_USERS = {
  alice: { displayName: 'Alice' },
  bob: { displayName: 'Bob' },
  admin: { displayName: 'Admin' },
} as const;

/**
 * The test API of a file on the default harness: the file's state lives in these fixtures, not in
 * file-level `let`s (tests/unit/test-files.test.ts checks that).
 * @example it('lists boards', async ({ h, alice }) => { const res = await h.get(BOARDS, { token: alice.token }); });
 * @example test.beforeAll(async ({ h }) => { … }); // suite hooks get the file's fixtures through `test.`
 */
export const test = harnessTest();
export const it = test;

/** The test API `harnessTest` returns, for helpers that add tests to a file (`runCommonAuthTests`). */
export type HarnessTest = ReturnType<typeof harnessTest>;

/**
 * The test API of a file that needs only a database (service tests): `database`, a fresh test database of
 * the file's, closed after its last test.
 * @example it('stores a blob', async ({ database }) => { const store = new DbBlobStore(database.db); … });
 */
export const databaseTest = base.extend(
  'database',
  { scope: 'file' },
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern.
  async ({}, { onCleanup }) => {
    const database = await openTestDatabase();
    onCleanup(() => database.close());
    return database;
  },
);
