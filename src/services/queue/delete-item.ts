import { eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { cancelItem } from './cancel-item.ts';
import { itemForChange } from './internal.ts';

/** Deletes one item (owner or admin); an in-progress item is canceled first. */
export async function deleteItem({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; itemId: number };
}) {
  const actor = requireActor(ctx.actor);
  const row = await itemForChange(ctx.db, actor, input.queueId, input.itemId);
  if (row.status === 'in_progress') {
    await cancelItem({ ctx, input });
  }
  await withTransaction(ctx, async (tx) => {
    await tx.db.delete(sessionQueue).where(eq(sessionQueue.itemId, row.itemId));
    await recordAudit({
      ctx: tx,
      input: {
        action: 'queue.deleted',
        targetType: 'queue_item',
        targetId: String(row.itemId),
        details: { owner_user_id: row.userId },
      },
    });
  });
}
