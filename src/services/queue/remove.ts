import { and, eq, inArray } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { ForbiddenError, ValidationError } from '../../core/errors.ts';
import { sessionQueue, users } from '../../db/schema/index.ts';
import { selectItems, toQueueItem } from '../../queue/item-dto.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { SYSTEM_USER_ID } from '../users/user-dto.ts';
import { assertQueue, itemForChange } from './access.ts';
import { cancelItem } from './cancel.ts';

const FINISHED = ['completed', 'failed', 'canceled'] as const;

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

/** Deletes finished items (completed, failed, canceled): the caller's own, or all for admins. */
export async function pruneQueue({ ctx, input }: { ctx: ServiceContext; input: { queueId: string } }) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  return withTransaction(ctx, async (tx) => {
    const deleted = await tx.db
      .delete(sessionQueue)
      .where(
        and(
          eq(sessionQueue.queueId, input.queueId),
          inArray(sessionQueue.status, [...FINISHED]),
          actor.isAdmin ? undefined : eq(sessionQueue.userId, actor.userId),
        ),
      )
      .returning({ itemId: sessionQueue.itemId });
    await recordAudit({
      ctx: tx,
      input: {
        action: 'queue.pruned',
        targetType: 'queue',
        targetId: input.queueId,
        details: { deleted: deleted.length },
      },
    });
    return { deleted: deleted.length };
  });
}

/** Deletes every item of the queue (admin), stopping the running one, and tells everyone. */
export async function clearQueue({ ctx, input }: { ctx: ServiceContext; input: { queueId: string } }) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  if (!actor.isAdmin) {
    throw new ForbiddenError('This action needs an admin.');
  }
  const result = await withTransaction(ctx, async (tx) => {
    const deleted = await tx.db
      .delete(sessionQueue)
      .where(eq(sessionQueue.queueId, input.queueId))
      .returning({ itemId: sessionQueue.itemId, status: sessionQueue.status });
    await recordAudit({
      ctx: tx,
      input: {
        action: 'queue.cleared',
        targetType: 'queue',
        targetId: input.queueId,
        details: { deleted: deleted.length },
      },
    });
    return deleted;
  });
  for (const r of result.filter((d) => d.status === 'in_progress')) {
    ctx.workers.cancel(r.itemId);
  }
  ctx.channels.publish({
    name: 'queue_cleared',
    queueId: input.queueId,
    ownerId: null,
    data: { queue_id: input.queueId },
  });
  return { deleted: result.length };
}

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
