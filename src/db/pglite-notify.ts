import { PGlite } from '@electric-sql/pglite';
import type { DbOrTx } from '../core/db.ts';
import type { Notifier } from '../core/notifier.ts';

/**
 * The PGlite client behind a Drizzle database (not a transaction), or undefined on PostgreSQL.
 * @example const client = pgliteClientOf(db); if (client) await client.listen('ch', onPayload);
 */
export function pgliteClientOf(db: DbOrTx): PGlite | undefined {
  const client = (db as { $client?: unknown }).$client;
  return client instanceof PGlite ? client : undefined;
}

/**
 * The `Notifier` of the embedded database: PGlite delivers `pg_notify` (from a query or a committed
 * transaction) to listeners in its own process. There is no connection to lose, so `onListen` runs once.
 * @example const notifier = pgliteNotifier(client);
 */
export function pgliteNotifier(client: PGlite): Notifier {
  return {
    async listen(channel, onPayload, onListen) {
      const stop = await client.listen(channel, onPayload);
      onListen?.();
      return () => stop();
    },
    async notify(channel, payload) {
      await client.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
  };
}
