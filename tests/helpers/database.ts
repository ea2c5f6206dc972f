import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import postgres from 'postgres';
import { inject } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { pgliteNotifier } from '../../src/db/pglite-notify.ts';
import type { Database } from '../../src/db/types.ts';
import { readMigrationsFromDir } from '../../src/node/migrations-fs.ts';
import { openPostgres } from '../../src/node/postgres-client.ts';

export const PG_ADMIN_URL = process.env.EASEL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const migrationsDir = new URL('../../drizzle', import.meta.url).pathname;

/** Which driver this vitest project runs on. */
export const testDriver = (): 'pglite' | 'postgres' =>
  process.env.EASEL_TEST_DB === 'postgres' ? 'postgres' : 'pglite';

/** The URL of database `name` on the test server. */
export function pgUrlFor(name: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The migrated PGlite data directory that `tests/helpers/global-setup.ts` wrote, read once per worker. */
let snapshot: Promise<Blob | null> | undefined;
function pgliteSnapshot(): Promise<Blob | null> {
  snapshot ??= (async () => {
    const path = inject('pgliteSnapshot');
    return path ? new Blob([await readFile(path)]) : null;
  })();
  return snapshot;
}

/**
 * A fresh, migrated database of its own: an in-memory PGlite loaded from the migrated snapshot, or a new
 * PostgreSQL database copied from the migrated template, which `close` drops. Outside the pglite/postgres
 * projects (no snapshot or template provided) it migrates an empty database instead.
 */
export async function openTestDatabase(driver = testDriver()): Promise<Database> {
  if (driver === 'pglite') {
    const loadDataDir = await pgliteSnapshot();
    const client = new PGlite(loadDataDir ? { loadDataDir } : {});
    await client.waitReady;
    const db = drizzle({ client });
    if (!loadDataDir) {
      await migrate(db, await readMigrationsFromDir(migrationsDir));
    }
    return { db, driver: 'pglite', notifier: pgliteNotifier(client), close: () => client.close() };
  }
  const template = inject('pgTemplate');
  const name = `easel_t_${crypto.randomUUID().replaceAll('-', '')}`;
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(template ? `CREATE DATABASE ${name} TEMPLATE ${template}` : `CREATE DATABASE ${name}`);
  const database = openPostgres(pgUrlFor(name), { max: 4 });
  if (!template) {
    await migrate(database.db, await readMigrationsFromDir(migrationsDir));
  }
  return {
    ...database,
    async close() {
      await database.close();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}
