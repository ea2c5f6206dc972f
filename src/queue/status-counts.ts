import { and, asc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../core/db.ts';
import { executePrepared } from '../db/prepared.ts';
import { rowsOf } from '../db/rows.ts';
import { QUEUE_STATUSES, type QueueStatus, sessionQueue } from '../db/schema/index.ts';
import { countByStatus } from './counts.ts';
import { queueReadCacheOf } from './counts-cache.ts';

const zeroCounts = () => Object.fromEntries(QUEUE_STATUSES.map((s) => [s, 0])) as Record<QueueStatus, number>;
const total = (c: Record<QueueStatus, number>) => QUEUE_STATUSES.reduce((sum, s) => sum + c[s], 0);

/** One row per status of the queue: its count, a part's count (one user's, one batch's), the running item. */
type TallyRow = { status: QueueStatus; n: number; part: number; current: number | null };

/** The queue's counts with its running item id, and the part's counts, from `TallyRow`s. */
function tally(queueId: string, rows: TallyRow[]) {
  const queue = zeroCounts();
  const part = zeroCounts();
  let current: number | null = null;
  for (const r of rows) {
    queue[r.status] = Number(r.n);
    part[r.status] = Number(r.part);
    current = r.current === null ? current : Number(r.current);
  }
  return {
    queue: { queue_id: queueId, item_id: current, ...queue, total: total(queue) },
    part: { ...part, total: total(part) },
  };
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
 * three round trips and two passes. The answer is kept until a write to the queue commits, on either
 * database (`QueueReadCache`).
 * @example const { queue, mine } = await queueAndUserCounts(db, 'default', actor.userId);
 */
export function queueAndUserCounts(db: DbOrTx, queueId: string, userId: string) {
  const read = () => readQueueAndUserCounts(db, queueId, userId);
  const cache = queueReadCacheOf(db);
  return cache ? cache.get(`status ${queueId} ${userId}`, read) : read();
}

async function readQueueAndUserCounts(db: DbOrTx, queueId: string, userId: string) {
  const rows = rowsOf<TallyRow>(
    await executePrepared(
      db,
      sql`SELECT s.status, s.n, s.part,
          (SELECT c.item_id FROM session_queue c WHERE c.queue_id = ${queueId} AND c.status = 'in_progress'
            ORDER BY c.started_at, c.item_id LIMIT 1) AS current
        FROM (SELECT status, count(*)::int AS n, (count(*) FILTER (WHERE user_id = ${userId}))::int AS part
          FROM session_queue WHERE queue_id = ${queueId} GROUP BY status) s`,
    ),
  );
  const { queue, part } = tally(queueId, rows);
  return { queue, mine: part };
}

/**
 * What `queue_item_status_changed` carries: the item's batch counts (over the owner's items of the batch)
 * and the queue's counts with its running item id, in one prepared statement and one pass over the queue's
 * rows (`batchCounts` and `queueCounts` take four round trips; a worker publishes this twice per item).
 * @example const { batch, queue } = await statusChangeCounts(tx.db, 'default', item.batch_id, item.user_id);
 */
export async function statusChangeCounts(db: DbOrTx, queueId: string, batchId: string, userId: string) {
  const rows = rowsOf<TallyRow & { origin: string | null; destination: string | null }>(
    await executePrepared(
      db,
      sql`SELECT s.status, s.n, s.part,
          (SELECT c.item_id FROM session_queue c WHERE c.queue_id = ${queueId} AND c.status = 'in_progress'
            ORDER BY c.started_at, c.item_id LIMIT 1) AS current,
          f.origin, f.destination
        FROM (SELECT status, count(*)::int AS n,
            (count(*) FILTER (WHERE batch_id = ${batchId} AND user_id = ${userId}))::int AS part
          FROM session_queue WHERE queue_id = ${queueId} GROUP BY status) s
        LEFT JOIN (SELECT origin, destination FROM session_queue
          WHERE queue_id = ${queueId} AND batch_id = ${batchId} AND user_id = ${userId}
          ORDER BY item_id LIMIT 1) f ON true`,
    ),
  );
  const { queue, part } = tally(queueId, rows);
  const first = rows[0];
  return {
    batch: {
      queue_id: queueId,
      batch_id: batchId,
      origin: first?.origin ?? null,
      destination: first?.destination ?? null,
      ...part,
    },
    queue,
  };
}
