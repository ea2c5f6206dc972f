import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { NotFoundError } from '../../core/errors.ts';
import { queueReadCacheOf } from '../../queue/counts-cache.ts';
import { redactFor, toQueueItem } from '../../queue/item-dto.ts';
import { assertQueue, findItem } from './internal.ts';

/** One item, redacted for the caller; unknown is 404. Kept until a write to the queue or the users commits. */
export async function getItem({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; itemId: number };
}) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  // A tab polls the item it shows: kept as the list's first page is, redacted per caller below.
  const read = () => findItem(ctx.db, input.queueId, input.itemId);
  const cache = queueReadCacheOf(ctx.db);
  const row = cache ? await cache.get(`item ${input.queueId} ${input.itemId}`, read, 'item') : await read();
  if (!row) {
    throw new NotFoundError('Queue item', String(input.itemId));
  }
  return redactFor(actor, toQueueItem(row));
}
