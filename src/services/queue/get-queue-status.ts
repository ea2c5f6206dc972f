import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { queueAndUserCounts } from '../../queue/status-counts.ts';
import { assertQueue } from './internal.ts';

/** Counts for the whole queue and for the caller, and the processor's state. */
export async function getQueueStatus({ ctx, input }: { ctx: ServiceContext; input: { queueId: string } }) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const [{ queue, mine }, processor] = await Promise.all([
    queueAndUserCounts(ctx.db, input.queueId, actor.userId),
    ctx.workers.status(input.queueId),
  ]);
  return { queue, mine, processor };
}
