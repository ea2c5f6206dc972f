import { and, eq, inArray } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { assertQueue } from './internal.ts';

const FINISHED = ['completed', 'failed', 'canceled'] as const;

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
