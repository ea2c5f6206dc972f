import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/db/migrate.ts';
import { readMigrationsFromDir } from '../../src/node/migrations-fs.ts';
import { openPostgres } from '../../src/node/postgres-client.ts';
import { migrationsDir, PG_ADMIN_URL, pgUrlFor } from './database.ts';
import { migratedPgliteSnapshot } from './once-per-run.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A file holding the data directory of a migrated PGlite (`dumpDataDir`), loaded by every test database. */
    pgliteSnapshot: string;
    /** A migrated PostgreSQL database that every test database is created from (`CREATE DATABASE … TEMPLATE`). */
    pgTemplate: string;
  }
}

/**
 * Runs once per `vitest run`, per database project: one migrated database, which every test file then copies
 * (a PGlite data directory loaded with `loadDataDir`, made once per run for every project that needs it, or a
 * PostgreSQL template), instead of starting an empty database and migrating it in each file. Named `setup`/`teardown` exports, as vitest's globalSetup reads them.
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (project.name === 'pglite') {
    const { value, release } = await migratedPgliteSnapshot();
    project.provide('pgliteSnapshot', value);
    return release;
  }
  const files = await readMigrationsFromDir(migrationsDir);
  const name = `easel_template_${process.pid}_${Date.now().toString(36)}`;
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const template = openPostgres(pgUrlFor(name), { max: 1 });
  await migrate(template.db, files);
  await template.close();
  project.provide('pgTemplate', name);
  return async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  };
}
