/**
 * PostgreSQL LISTEN/NOTIFY as a port, so the channel-log tailer runs on either driver: postgres.js
 * (`src/node/pg-notify.ts`, one dedicated connection, re-listens after a reconnect) and PGlite
 * (`src/db/pglite-notify.ts`, within its one process).
 */
export interface Notifier {
  /**
   * Calls `onPayload` for each notification on `channel`. `onListen` runs once listening starts and again
   * after every reconnect (notifications sent while disconnected are lost: catch up then). Resolves, once
   * listening, to the function that stops it.
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onListen?: () => void,
  ): Promise<() => Promise<void>>;
  /** Sends a notification now (outside any transaction; inside one, use `SELECT pg_notify(…)`). */
  notify(channel: string, payload: string): Promise<void>;
}
