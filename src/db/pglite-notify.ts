import type { PGlite } from '@electric-sql/pglite';
import type { Notifier } from '../core/notifier.ts';

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
