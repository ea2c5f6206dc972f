import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { pgliteNotifier } from './pglite-notify.ts';
import type { Database } from './types.ts';

/**
 * Opens the embedded PGlite database (WASM, portable): in memory without a path, else in that folder.
 * @example const database = await openPglite(`${dataDir}/db`);
 */
export async function openPglite(dataDir?: string): Promise<Database> {
  const client = dataDir ? new PGlite(dataDir) : new PGlite();
  await client.waitReady;
  const db = drizzle({ client });
  return { db, driver: 'pglite', notifier: pgliteNotifier(client), close: () => client.close() };
}
