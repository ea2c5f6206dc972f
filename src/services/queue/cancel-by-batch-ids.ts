import { and, eq, inArray } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { BatchIds } from '../../queue/schemas.ts';
import { cancelMatching } from './cancel-matching.ts';
import { assertQueue } from './internal.ts';

/** Cancels the active items of the given batches: the caller's own, or everyone's for admins. */
export async function cancelByBatchIds({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; batchIds: string[] };
}) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const batchIds = BatchIds.parse(input.batchIds);
  if (batchIds.length === 0) {
    return { canceled: 0 };
  }
  const rows = await cancelMatching(
    ctx,
    and(
      eq(sessionQueue.queueId, input.queueId),
      inArray(sessionQueue.batchId, batchIds),
      actor.isAdmin ? undefined : eq(sessionQueue.userId, actor.userId),
    ),
    { includeRunning: true, audit: { batch_ids: batchIds } },
  );
  return { canceled: rows.length };
}
