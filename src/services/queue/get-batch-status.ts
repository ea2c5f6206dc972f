import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { NotFoundError } from '../../core/errors.ts';
import { batchCounts } from '../../queue/status-counts.ts';
import { assertQueue } from './internal.ts';

/** A batch's status for its owner or an admin; another user's batch is 404, like an unknown one. */
export async function getBatchStatus({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; batchId: string };
}) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const status = await batchCounts(ctx.db, input.queueId, input.batchId, actor.isAdmin ? null : actor.userId);
  if (status.total === 0) {
    throw new NotFoundError('Batch', input.batchId);
  }
  return status;
}
