import { type SQL, sql } from 'drizzle-orm';
import type { DbOrTx } from '../core/db.ts';
import { QUEUE_STATUSES, type QueueStatus, sessionQueue } from '../db/schema/index.ts';
import type { StatusCounts } from './schemas.ts';

/** Item counts by status (and their total) over the items matching `where`. */
export async function countByStatus(db: DbOrTx, where: SQL | undefined): Promise<StatusCounts> {
  const rows = await db
    .select({ status: sessionQueue.status, n: sql<number>`count(*)::int` })
    .from(sessionQueue)
    .where(where)
    .groupBy(sessionQueue.status);
  const counts = Object.fromEntries(QUEUE_STATUSES.map((s) => [s, 0])) as Record<QueueStatus, number>;
  for (const r of rows) {
    counts[r.status] = r.n;
  }
  return { ...counts, total: rows.reduce((sum, r) => sum + r.n, 0) };
}
