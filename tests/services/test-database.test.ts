import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { rowsOf } from '../../src/db/rows.ts';
import type { Database } from '../../src/db/types.ts';
import { openTestDatabase, pglitePool, testDriver } from '../helpers/database.ts';
import { createHarness } from '../helpers/harness.ts';
import { enqueue } from '../helpers/queue.ts';

/** Every table's rows and every sequence's value, as text: what "a just-migrated database" means here. */
async function stateOf(database: Database): Promise<Record<string, string>> {
  const tables = rowsOf<{ t: string }>(
    await database.db.execute(
      sql.raw(`SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
         AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1`),
    ),
  );
  const state: Record<string, string> = {};
  for (const { t } of tables) {
    const [row] = rowsOf<{ rows: string | null }>(
      await database.db.execute(sql.raw(`SELECT json_agg(x ORDER BY x::text)::text AS rows FROM ${t} x`)),
    );
    state[t] = row?.rows ?? '[]';
  }
  const sequences = rowsOf<{ name: string; value: string | null }>(
    await database.db.execute(
      sql.raw('SELECT sequencename AS name, last_value::text AS value FROM pg_sequences'),
    ),
  );
  for (const s of sequences) {
    state[`sequence ${s.name}`] = String(s.value);
  }
  return state;
}

// tests/helpers/database.ts hands a PGlite that a file closed to the next file of the same worker, reset. These
// tests open, dirty and close databases one after another in one file, so the next open takes the one just closed.
it('a closed database comes back to the next opener as just migrated: rows, sequences and migrations', async () => {
  const first = await openTestDatabase();
  const migrated = await stateOf(first);
  expect(Object.keys(migrated)).toContain('public.users');
  await first.close();

  const h = await createHarness();
  const alice = await h.createUser({ email: 'alice@example.com' });
  await enqueue(h, alice.token, { runs: 3 });
  expect(await stateOf({ db: h.db, driver: h.driver, close: async () => {} })).not.toEqual(migrated);
  await h.close();

  const reusedBefore = pglitePool.reused;
  const next = await openTestDatabase();
  expect(pglitePool.reused - reusedBefore).toBe(testDriver() === 'pglite' ? 1 : 0);
  expect(await stateOf(next)).toEqual(migrated);
  await next.close();
});

it('a closed database keeps no listener: a notification on the next opener reaches only its own', async () => {
  const first = await openTestDatabase();
  const heard: string[] = [];
  await first.notifier?.listen('easel_test_channel', (payload) => heard.push(payload));
  await first.close();

  const reusedBefore = pglitePool.reused;
  const next = await openTestDatabase();
  expect(pglitePool.reused - reusedBefore).toBe(testDriver() === 'pglite' ? 1 : 0);
  const delivered: string[] = [];
  await next.notifier?.listen('easel_test_channel', (payload) => delivered.push(payload));
  await next.notifier?.notify('easel_test_channel', 'one');
  await expect.poll(() => delivered).toEqual(['one']);
  expect(heard).toEqual([]);
  await next.close();
});

it('a database whose schema a file changed is not handed out again', async () => {
  const first = await openTestDatabase();
  const idle = pglitePool.idle();
  await first.db.execute(sql`CREATE TABLE scratch (x integer)`);
  await first.close();
  expect(pglitePool.idle()).toBe(idle);

  const next = await openTestDatabase();
  const scratch = rowsOf<{ t: string | null }>(
    await next.db.execute(sql`SELECT to_regclass('scratch')::text AS t`),
  );
  expect(scratch).toEqual([{ t: null }]);
  await next.close();
});
