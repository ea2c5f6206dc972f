import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type MigrationFile, readMigrations } from '../db/migrate.ts';

/** Reads the committed migrations from a `drizzle/` folder on disk. */
export function readMigrationsFromDir(dir: string): Promise<MigrationFile[]> {
  return readMigrations((p) => readFile(join(dir, p), 'utf8'));
}
