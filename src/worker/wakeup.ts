import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../core/db.ts';
import type { Notifier } from '../core/notifier.ts';

/** The NOTIFY channel that tells every process's workers the queue changed (API.md section 8). */
export const QUEUE_NOTIFY = 'easel_queue';

export type QueueChange = 'enqueued' | 'requeued' | 'paused' | 'resumed' | 'canceled';

export interface QueueNotice {
  queue_id: string;
  change: QueueChange;
  /** `canceled`: the running items canceled, for the process whose worker runs one to stop it at once. */
  item_ids?: number[];
}

/**
 * Announces a queue change in the caller's transaction (sent on commit): idle workers of every process try
 * a claim on `enqueued`, `requeued` and `resumed`, so no worker stays idle while items are pending; caches of
 * the pause flag follow `paused`/`resumed`; `canceled` names running items that were canceled.
 * @example await db.transaction(async (tx) => { …insert items…; await announceQueue(tx, 'default', 'enqueued'); });
 */
export async function announceQueue(
  db: DbOrTx,
  queueId: string,
  change: QueueChange,
  itemIds?: number[],
): Promise<void> {
  const notice: QueueNotice = { queue_id: queueId, change, ...(itemIds ? { item_ids: itemIds } : {}) };
  await db.execute(sql`SELECT pg_notify(${QUEUE_NOTIFY}, ${JSON.stringify(notice)})`);
}

/**
 * Calls `fn` for each queue change announced by any process; `onListen` after each (re)listen, when the
 * caller should act as if something changed (notices may have been missed). Resolves to the unsubscribe.
 */
export function onQueueChange(
  notifier: Notifier,
  fn: (notice: QueueNotice) => void,
  onListen?: () => void,
): Promise<() => Promise<void>> {
  return notifier.listen(
    QUEUE_NOTIFY,
    (payload) => {
      try {
        fn(JSON.parse(payload) as QueueNotice);
      } catch {
        // Not ours: ignore.
      }
    },
    onListen,
  );
}
