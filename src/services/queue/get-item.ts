import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { NotFoundError } from '../../core/errors.ts';
import { redactFor, toQueueItem } from '../../queue/item-dto.ts';
import { assertQueue, findItem } from './internal.ts';

/** One item, redacted for the caller; unknown is 404. */
export async function getItem({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; itemId: number };
}) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const row = await findItem(ctx.db, input.queueId, input.itemId);
  if (!row) {
    throw new NotFoundError('Queue item', String(input.itemId));
  }
  return redactFor(actor, toQueueItem(row));
}
