import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'vitest';

/**
 * Makes `dataDir` hold a migrated, empty PGlite database (a copy of the one tests/helpers/server-setup.ts
 * made), as if a server had started there once and stopped before anything was created; returns `dataDir`.
 * @example const env = childEnv({ DATA_DIR: await migratedDataDir(join(root, 'data')) });
 */
export async function migratedDataDir(dataDir: string): Promise<string> {
  await cp(inject('pgliteDataDir'), join(dataDir, 'db'), { recursive: true });
  return dataDir;
}
