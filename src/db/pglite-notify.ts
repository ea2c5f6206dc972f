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

const ignore = () => {};

/**
 * How many commits notified `channel` since this process listened, on PGlite (ADR 0008, 4): -1 until the
 * `LISTEN` is confirmed (and `before` has run), and always on PostgreSQL, where a notification can come
 * after the next request. PGlite delivers a notification inside the query that commits it, before that
 * query returns, so a value read before a read of the database and still current after it proves that no
 * write notifying `channel` committed in between.
 * @example const users = new PgliteGeneration(db, 'easel_users_changed'); const g = users.value;
 */
export class PgliteGeneration {
  value = -1;
  /** Settles once the value counts (PGlite listening), or at once where it never will. */
  readonly ready: Promise<void>;

  constructor(db: DbOrTx, channel: string, before?: (client: PGlite) => Promise<unknown>) {
    const client = pgliteClientOf(db);
    if (!client) {
      this.ready = Promise.resolve();
      return;
    }
    this.ready = Promise.resolve(before?.(client))
      .then(() =>
        client.listen(channel, () => {
          this.value++;
        }),
      )
      .then(() => {
        // Whatever was read before now carries -1 and is read again.
        this.value = 0;
      }, ignore);
  }
}

/** An entry is current when it was read in the generation that is current now (never while it is -1). */
export const current = (entry: number, now: number) => now >= 0 && entry === now;
