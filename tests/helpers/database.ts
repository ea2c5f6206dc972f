import postgres from 'postgres';
import { migrate } from '../../src/db/migrate.ts';
import { openPglite } from '../../src/db/pglite.ts';
import type { Database } from '../../src/db/types.ts';
import { readMigrationsFromDir } from '../../src/node/migrations-fs.ts';
import { openPostgres } from '../../src/node/postgres-client.ts';

export const PG_ADMIN_URL = process.env.EASEL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const migrationsDir = new URL('../../drizzle', import.meta.url).pathname;

/** Which driver this vitest project runs on. */
export const testDriver = (): 'pglite' | 'postgres' =>
  process.env.EASEL_TEST_DB === 'postgres' ? 'postgres' : 'pglite';

/**
 * A fresh, migrated database of its own: in-memory PGlite, or a new PostgreSQL database that `close` drops.
 */
export async function openTestDatabase(driver = testDriver()): Promise<Database> {
  const files = await readMigrationsFromDir(migrationsDir);
  if (driver === 'pglite') {
    const database = await openPglite();
    await migrate(database.db, files);
    return database;
  }
  const name = `easel_t_${crypto.randomUUID().replaceAll('-', '')}`;
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const database = openPostgres(url.toString(), { max: 4 });
  await migrate(database.db, files);
  return {
    ...database,
    async close() {
      await database.close();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}
