import type { Sql } from 'postgres';
import type { Notifier } from '../core/notifier.ts';

/**
 * The `Notifier` on postgres.js: `sql.listen` holds one dedicated connection for all of the client's
 * listeners and listens again after a reconnect, calling `onListen` each time (the caller then catches up on
 * what it missed).
 * @example const notifier = postgresNotifier(client); await notifier.listen('easel_channel', onPayload, catchUp);
 */
export function postgresNotifier(client: Sql): Notifier {
  return {
    async listen(channel, onPayload, onListen) {
      const meta = await client.listen(channel, onPayload, onListen);
      return () => meta.unlisten();
    },
    async notify(channel, payload) {
      await client.notify(channel, payload);
    },
  };
}
