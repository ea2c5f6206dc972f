import { and, eq, inArray } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { selectItems, toQueueItem } from '../../queue/item-dto.ts';
import { publishStatusChanged } from '../../queue/publish.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { ACTIVE } from './cancel-matching.ts';
import { itemForChange } from './internal.ts';

/** Cancels one item (owner or admin). A finished item comes back unchanged. */
export async function cancelItem({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; itemId: number };
}) {
  const actor = requireActor(ctx.actor);
  const row = await itemForChange(ctx.db, actor, input.queueId, input.itemId);
  if (!ACTIVE.includes(row.status)) {
    return toQueueItem(row);
  }
  const wasRunning = row.status === 'in_progress';
  const updated = await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    const changed = await tx.db
      .update(sessionQueue)
      .set({ status: 'canceled', completedAt: now, updatedAt: now })
      .where(and(eq(sessionQueue.itemId, row.itemId), inArray(sessionQueue.status, ACTIVE)))
      .returning({ itemId: sessionQueue.itemId });
    if (changed.length > 0) {
      await recordAudit({
        ctx: tx,
        input: {
          action: 'queue.canceled',
          targetType: 'queue_item',
          targetId: String(row.itemId),
          details: { owner_user_id: row.userId },
        },
      });
    }
    const [fresh] = await selectItems(tx.db).where(eq(sessionQueue.itemId, row.itemId));
    const item = toQueueItem(fresh ?? row);
    if (changed.length > 0) {
      await publishStatusChanged(tx.db, tx.channels, item);
    }
    return { item, changed: changed.length > 0 };
  });
  if (updated.changed && wasRunning) {
    ctx.workers.cancel(row.itemId);
  }
  return updated.item;
}
