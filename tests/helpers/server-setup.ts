import type { TestProject } from 'vitest/node';
import { migratedPgliteDataDir } from './once-per-run.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated, empty PGlite data directory (`DATA_DIR/db` of a server that never ran), to copy. */
    pgliteDataDir: string;
  }
}

/**
 * Runs once per `vitest run` for the projects that start real servers (one directory shared by all of them):
 * a migrated on-disk PGlite database, which `migratedDataDir` copies into a server's `DATA_DIR`, so a server's
 * start in a test pays neither PGlite's creation of its data directory nor the migrations (about 5 s of CPU
 * each; tests/node/start.test.ts keeps one truly first start).
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { value, release } = await migratedPgliteDataDir();
  project.provide('pgliteDataDir', `${value.root}/db`);
  return release;
}
