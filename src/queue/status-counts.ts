import { and, asc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../core/db.ts';
import { executePrepared } from '../db/prepared.ts';
import { rowsOf } from '../db/rows.ts';
import { QUEUE_STATUSES, type QueueStatus, sessionQueue } from '../db/schema/index.ts';
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

/**
 * The queue's counts with its running item id, and one user's counts in it: one prepared statement, one
 * pass over the queue's rows (`GET …/status` on every poll), where `queueCounts` and `countByStatus` take
 * three round trips and two passes.
 * @example const { queue, mine } = await queueAndUserCounts(db, 'default', actor.userId);
 */
export async function queueAndUserCounts(db: DbOrTx, queueId: string, userId: string) {
  const rows = rowsOf<{ status: QueueStatus; n: number; mine: number; current: number | null }>(
    await executePrepared(
      db,
      sql`SELECT s.status, s.n, s.mine,
          (SELECT c.item_id FROM session_queue c WHERE c.queue_id = ${queueId} AND c.status = 'in_progress'
            ORDER BY c.started_at, c.item_id LIMIT 1) AS current
        FROM (SELECT status, count(*)::int AS n, (count(*) FILTER (WHERE user_id = ${userId}))::int AS mine
          FROM session_queue WHERE queue_id = ${queueId} GROUP BY status) s`,
    ),
  );
  const zero = () => Object.fromEntries(QUEUE_STATUSES.map((s) => [s, 0])) as Record<QueueStatus, number>;
  const queue = zero();
  const mine = zero();
  let current: number | null = null;
  for (const r of rows) {
    queue[r.status] = Number(r.n);
    mine[r.status] = Number(r.mine);
    current = r.current === null ? current : Number(r.current);
  }
  const total = (c: Record<QueueStatus, number>) => QUEUE_STATUSES.reduce((sum, s) => sum + c[s], 0);
  return {
    queue: { queue_id: queueId, item_id: current, ...queue, total: total(queue) },
    mine: { ...mine, total: total(mine) },
  };
}
