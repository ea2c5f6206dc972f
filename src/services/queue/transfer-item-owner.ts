import { eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { ForbiddenError, ValidationError } from '../../core/errors.ts';
import { sessionQueue, users } from '../../db/schema/index.ts';
import { selectItems, toQueueItem } from '../../queue/item-dto.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { SYSTEM_USER_ID } from '../users/user-dto.ts';
import { itemForChange } from './internal.ts';

/** Gives an item to another user (admin). The new owner must be an active account. */
export async function transferItemOwner({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; itemId: number; userId: string };
}) {
  const actor = requireActor(ctx.actor);
  if (!actor.isAdmin) {
    throw new ForbiddenError('This action needs an admin.');
  }
  const row = await itemForChange(ctx.db, actor, input.queueId, input.itemId);
  const [target] =
    input.userId === SYSTEM_USER_ID
      ? []
      : await ctx.db
          .select({ userId: users.userId, isActive: users.isActive })
          .from(users)
          .where(eq(users.userId, input.userId))
          .limit(1);
  if (!target) {
    throw new ValidationError([{ path: 'user_id', message: `No user ${input.userId}.` }]);
  }
  if (!target.isActive) {
    throw new ValidationError([{ path: 'user_id', message: `User ${input.userId} is inactive.` }]);
  }
  return withTransaction(ctx, async (tx) => {
    await tx.db
      .update(sessionQueue)
      .set({ userId: target.userId, updatedAt: tx.clock.now() })
      .where(eq(sessionQueue.itemId, row.itemId));
    await recordAudit({
      ctx: tx,
      input: {
        action: 'queue.owner_changed',
        targetType: 'queue_item',
        targetId: String(row.itemId),
        details: { from_user_id: row.userId, to_user_id: target.userId },
      },
    });
    const [fresh] = await selectItems(tx.db).where(eq(sessionQueue.itemId, row.itemId));
    return toQueueItem(fresh ?? row);
  });
}
