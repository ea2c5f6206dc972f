import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { pgliteNotifier } from './pglite-notify.ts';
import type { Database } from './types.ts';

/**
 * Settings kept in the data folder (`postgresql.auto.conf`), read at every start. PostgreSQL's default
 * `shared_buffers` (128 MB) is allocated and written at start inside the process's WASM memory, which never
 * shrinks: 16 MB holds a team's queue and image rows, and the operating system caches the data folder's files
 * beneath it (docs/operations.md, "Memory"; bench/results/memory.md).
 */
export const PGLITE_SETTINGS = { shared_buffers: '16MB' } as const;

/**
 * Opens the embedded PGlite database (WASM, portable): in memory without a path, else in that folder, whose
 * `PGLITE_SETTINGS` it writes for the next start when they differ (a folder made before they existed, or by
 * `createPgliteFolder` with other ones). With `turn`, every query first awaits it (`takeTurns`).
 * @example const database = await openPglite(`${dataDir}/db`, () => setImmediate());
 */
export async function openPglite(dataDir?: string, turn?: () => Promise<void>): Promise<Database> {
  const client = dataDir ? new PGlite(dataDir) : new PGlite();
  await client.waitReady;
  if (turn) {
    takeTurns(client, turn);
  }
  if (dataDir) {
    await keepPgliteSettings(client);
  }
  const db = drizzle({ client });
  return { db, driver: 'pglite', notifier: pgliteNotifier(client), close: () => client.close() };
}

/**
 * Creates a PGlite data folder with `PGLITE_SETTINGS` and closes it. Creating one runs `initdb` and a first
 * start with PostgreSQL's defaults (~750 MB of WASM memory that a process keeps), so the Node entry runs it in
 * a short-lived child process (src/node/pglite-folder.ts) and opens the folder afterwards.
 */
export async function createPgliteFolder(dataDir: string): Promise<void> {
  const client = new PGlite(dataDir);
  await client.waitReady;
  await keepPgliteSettings(client);
  await client.close();
}

/** Writes `PGLITE_SETTINGS` that differ into the folder's `postgresql.auto.conf` (read at its next start). */
export async function keepPgliteSettings(client: PGlite): Promise<void> {
  for (const [name, value] of Object.entries(PGLITE_SETTINGS)) {
    // `current_setting` shows a size as it was written ('16MB', '128MB').
    const { rows } = await client.query<{ value: string }>('SELECT current_setting($1) AS value', [name]);
    if (rows[0]?.value !== value) {
      await client.exec(`ALTER SYSTEM SET ${name} = '${value}'`);
    }
  }
}

/**
 * Makes every `query` of `client`, in a transaction too, first await `turn` (on Node a macrotask turn,
 * `setImmediate`). PGlite runs a query synchronously in WASM, file writes included, and resolves it as a
 * microtask, so without turns a transaction's queries (a claim has eight, ~10 ms) run as one task of the
 * event loop, holding back timers, sockets and the inference child's messages; with them other work runs
 * between two queries. What a transaction sees is unchanged: PGlite holds its lock across the turns.
 * Measured with `npm run bench:runtime` on PGlite: event-loop delay p99 28 → 9 ms at 64² × 4 steps.
 * @example takeTurns(client, () => setImmediate());
 */
export function takeTurns(client: PGlite, turn: () => Promise<void>): void {
  const query = client.query.bind(client);
  client.query = (async (...args: Parameters<PGlite['query']>) => {
    await turn();
    return query(...args);
  }) as PGlite['query'];
  const transaction = client.transaction.bind(client);
  client.transaction = ((fn: Parameters<PGlite['transaction']>[0]) =>
    transaction((tx) => {
      // The transaction object with its own `query` taking turns; `closed` and the rest stay its own.
      const turning: typeof tx = Object.create(tx);
      turning.query = async (...args: Parameters<typeof tx.query>) => {
        await turn();
        return tx.query(...args);
      };
      return fn(turning);
    })) as PGlite['transaction'];
}
