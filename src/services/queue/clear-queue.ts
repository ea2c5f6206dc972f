import { eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { ForbiddenError } from '../../core/errors.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { assertQueue } from './internal.ts';

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
    tx.channels.publish({
      name: 'queue_cleared',
      queueId: input.queueId,
      ownerId: null,
      data: { queue_id: input.queueId },
    });
    return deleted;
  });
  for (const r of result.filter((d) => d.status === 'in_progress')) {
    ctx.workers.cancel(r.itemId);
  }
  return { deleted: result.length };
}
