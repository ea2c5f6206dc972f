import { and, asc, eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { redactFor, selectItems, toQueueItem } from '../../queue/item-dto.ts';
import { assertQueue } from './internal.ts';

/** The item in progress (the oldest, if several), or null. */
export async function getCurrentItem({ ctx, input }: { ctx: ServiceContext; input: { queueId: string } }) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const [row] = await selectItems(ctx.db)
    .where(and(eq(sessionQueue.queueId, input.queueId), eq(sessionQueue.status, 'in_progress')))
    .orderBy(asc(sessionQueue.startedAt), asc(sessionQueue.itemId))
    .limit(1);
  return row ? redactFor(actor, toQueueItem(row)) : null;
}
