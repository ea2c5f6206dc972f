import { and, asc, eq } from 'drizzle-orm';
import type { DbOrTx } from '../core/db.ts';
import { sessionQueue } from '../db/schema/index.ts';
import { countByStatus } from './counts.ts';

/** The queue's counts with the running item id (what `queue_item_status_changed` carries as `queue_status`). */
export async function queueCounts(db: DbOrTx, queueId: string) {
  const counts = await countByStatus(db, eq(sessionQueue.queueId, queueId));
  const [current] = await db
    .select({ itemId: sessionQueue.itemId })
    .from(sessionQueue)
    .where(and(eq(sessionQueue.queueId, queueId), eq(sessionQueue.status, 'in_progress')))
    .orderBy(asc(sessionQueue.startedAt), asc(sessionQueue.itemId))
    .limit(1);
  return { queue_id: queueId, item_id: current?.itemId ?? null, ...counts };
}

/** The `queue_status` event's data: the queue's counts, no item data. */
export function queueStatusCounts(db: DbOrTx, queueId: string) {
  return countByStatus(db, eq(sessionQueue.queueId, queueId));
}

/** A batch's counts, over the items the viewer may see: the owner's own, or all for admins (`owner` null). */
export async function batchCounts(db: DbOrTx, queueId: string, batchId: string, owner: string | null) {
  const where = and(
    eq(sessionQueue.queueId, queueId),
    eq(sessionQueue.batchId, batchId),
    owner === null ? undefined : eq(sessionQueue.userId, owner),
  );
  const counts = await countByStatus(db, where);
  const [first] = await db
    .select({ origin: sessionQueue.origin, destination: sessionQueue.destination })
    .from(sessionQueue)
    .where(where)
    .orderBy(asc(sessionQueue.itemId))
    .limit(1);
  return {
    queue_id: queueId,
    batch_id: batchId,
    origin: first?.origin ?? null,
    destination: first?.destination ?? null,
    ...counts,
  };
}
