import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/db/migrate.ts';
import { openPglite } from '../../src/db/pglite.ts';
import { readMigrationsFromDir } from '../../src/node/migrations-fs.ts';
import { migrationsDir } from './database.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated, empty PGlite data directory (`DATA_DIR/db` of a server that never ran), to copy. */
    pgliteDataDir: string;
  }
}

/**
 * Runs once per `vitest run` for the projects that start real servers: migrates one on-disk PGlite database,
 * which `migratedDataDir` copies into a server's `DATA_DIR`, so a server's start in a test pays neither
 * PGlite's creation of its data directory nor the migrations (about 5 s of CPU each; tests/node/start.test.ts
 * keeps one truly first start).
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = await mkdtemp(join(tmpdir(), 'easel-pglite-datadir-'));
  const database = await openPglite(join(root, 'db'));
  await migrate(database.db, await readMigrationsFromDir(migrationsDir));
  await database.close();
  project.provide('pgliteDataDir', join(root, 'db'));
  return () => rm(root, { recursive: true, force: true });
}
