import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '../core/db.ts';
import { sessionQueue } from '../db/schema/index.ts';

/** Interruptions after which a recovered item fails instead of running again (API.md section 4). */
export const MAX_INTERRUPTIONS = 3;

/**
 * At start, puts the items a crash left `in_progress` back to `pending`, counting one interruption each;
 * an item interrupted for the third time is marked `failed` with `error_type: interrupted` instead.
 * Returns the recovered and the failed item ids.
 * @example const { requeued, failed } = await recoverInterrupted(db, 'default', new Date());
 */
export async function recoverInterrupted(
  db: DbOrTx,
  queueId: string,
  now: Date,
): Promise<{ requeued: number[]; failed: number[] }> {
  const rows = await db.transaction(async (tx) => {
    const stuck = await tx
      .select({ itemId: sessionQueue.itemId, interruptions: sessionQueue.interruptions })
      .from(sessionQueue)
      .where(and(eq(sessionQueue.queueId, queueId), eq(sessionQueue.status, 'in_progress')))
      .orderBy(asc(sessionQueue.itemId))
      .for('update');
    const failing = stuck.filter((r) => r.interruptions + 1 >= MAX_INTERRUPTIONS).map((r) => r.itemId);
    const requeuing = stuck.filter((r) => r.interruptions + 1 < MAX_INTERRUPTIONS).map((r) => r.itemId);
    if (requeuing.length > 0) {
      await tx
        .update(sessionQueue)
        .set({
          status: 'pending',
          startedAt: null,
          updatedAt: now,
          interruptions: sql`${sessionQueue.interruptions} + 1`,
        })
        .where(inArray(sessionQueue.itemId, requeuing));
    }
    if (failing.length > 0) {
      await tx
        .update(sessionQueue)
        .set({
          status: 'failed',
          completedAt: now,
          updatedAt: now,
          interruptions: sql`${sessionQueue.interruptions} + 1`,
          errorType: 'interrupted',
          errorMessage: `The server stopped while this item ran, ${MAX_INTERRUPTIONS} times.`,
          errorTraceback: null,
        })
        .where(inArray(sessionQueue.itemId, failing));
    }
    return { requeued: requeuing, failed: failing };
  });
  return rows;
}
