import { and, asc, eq, inArray, type SQL } from 'drizzle-orm';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { type QueueStatus, sessionQueue } from '../../db/schema/index.ts';
import { selectItems, toQueueItem } from '../../queue/item-dto.ts';
import { byOwner, publishStatusChanged } from '../../queue/publish.ts';
import { recordAudit } from '../audit/record-audit.ts';

export const ACTIVE: QueueStatus[] = ['pending', 'in_progress'];

/**
 * Cancels the active items matching `where` in one transaction, then tells the processor to stop the
 * running ones and publishes one `queue_items_canceled` per owner plus a `queue_item_status_changed` for
 * each running item. Returns the canceled rows.
 */
export async function cancelMatching(
  ctx: ServiceContext,
  where: SQL | undefined,
  opts: { includeRunning: boolean; audit: Record<string, unknown> | null },
) {
  const statuses: QueueStatus[] = opts.includeRunning ? ACTIVE : ['pending'];
  const canceled = await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    // Lock first to know each row's status before the change: the running ones must be stopped.
    const rows = await tx.db
      .select({ itemId: sessionQueue.itemId, userId: sessionQueue.userId, status: sessionQueue.status })
      .from(sessionQueue)
      .where(and(where, inArray(sessionQueue.status, statuses)))
      .for('update');
    if (rows.length > 0) {
      await tx.db
        .update(sessionQueue)
        .set({ status: 'canceled', completedAt: now, updatedAt: now })
        .where(
          inArray(
            sessionQueue.itemId,
            rows.map((r) => r.itemId),
          ),
        );
    }
    if (opts.audit && rows.length > 0) {
      await recordAudit({
        ctx: tx,
        input: {
          action: 'queue.canceled',
          targetType: 'queue',
          targetId: 'default',
          details: { ...opts.audit, canceled: rows.length },
        },
      });
    }
    const sorted = rows.sort((a, b) => a.itemId - b.itemId);
    for (const [userId, ids] of byOwner(sorted)) {
      tx.channels.publish({
        name: 'queue_items_canceled',
        queueId: 'default',
        ownerId: userId,
        data: { queue_id: 'default', canceled_item_ids: ids, user_id: userId },
      });
    }
    const running = sorted.filter((r) => r.status === 'in_progress');
    if (running.length > 0) {
      const changed = await selectItems(tx.db)
        .where(
          inArray(
            sessionQueue.itemId,
            running.map((r) => r.itemId),
          ),
        )
        .orderBy(asc(sessionQueue.itemId));
      for (const row of changed) {
        await publishStatusChanged(tx.db, tx.channels, toQueueItem(row));
      }
    }
    return sorted;
  });
  for (const r of canceled.filter((c) => c.status === 'in_progress')) {
    ctx.workers.cancel(r.itemId);
  }
  return canceled;
}

/** Cancels a user's pending and running items (their account was deactivated or deleted). */
export async function cancelUserItems(ctx: ServiceContext, userId: string) {
  return cancelMatching(ctx, eq(sessionQueue.userId, userId), { includeRunning: true, audit: null });
}
