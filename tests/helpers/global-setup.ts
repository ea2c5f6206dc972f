import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/db/migrate.ts';
import { readMigrationsFromDir } from '../../src/node/migrations-fs.ts';
import { openPostgres } from '../../src/node/postgres-client.ts';
import { migrationsDir, PG_ADMIN_URL, pgUrlFor } from './database.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A file holding the data directory of a migrated PGlite (`dumpDataDir`), loaded by every test database. */
    pgliteSnapshot: string;
    /** A migrated PostgreSQL database that every test database is created from (`CREATE DATABASE … TEMPLATE`). */
    pgTemplate: string;
  }
}

/**
 * Runs once per `vitest run`, per database project: migrates one database, which every test file then copies
 * (a PGlite data directory loaded with `loadDataDir`, or a PostgreSQL template), instead of starting an empty
 * database and migrating it in each file. Named `setup`/`teardown` exports, as vitest's globalSetup reads them.
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const files = await readMigrationsFromDir(migrationsDir);
  const id = `${process.pid}_${Date.now().toString(36)}`;
  if (project.name === 'pglite') {
    const client = new PGlite();
    await client.waitReady;
    await migrate(drizzle({ client }), files);
    const path = join(tmpdir(), `easel-pglite-snapshot-${id}.tar`);
    await writeFile(path, new Uint8Array(await (await client.dumpDataDir('none')).arrayBuffer()));
    await client.close();
    project.provide('pgliteSnapshot', path);
    return () => rm(path, { force: true });
  }
  const name = `easel_template_${id}`;
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
