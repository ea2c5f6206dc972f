import { and, eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { countByStatus } from '../../queue/counts.ts';
import { queueCounts } from '../../queue/status-counts.ts';
import { assertQueue } from './internal.ts';

/** Counts for the whole queue and for the caller, and the processor's state. */
export async function getQueueStatus({ ctx, input }: { ctx: ServiceContext; input: { queueId: string } }) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const [queue, mine] = await Promise.all([
    queueCounts(ctx.db, input.queueId),
    countByStatus(
      ctx.db,
      and(eq(sessionQueue.queueId, input.queueId), eq(sessionQueue.userId, actor.userId)),
    ),
  ]);
  return { queue, mine, processor: await ctx.workers.status(input.queueId) };
}
