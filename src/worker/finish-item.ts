import { and, eq } from 'drizzle-orm';
import { type ServiceContext, withTransaction } from '../core/context.ts';
import { sessionQueue } from '../db/schema/index.ts';
import { type ItemRow, selectItems, toQueueItem } from '../queue/item-dto.ts';
import { publishStatusChanged } from '../queue/publish.ts';
import type { QueueItem } from '../queue/schemas.ts';

export type Outcome =
  | { status: 'completed' }
  | { status: 'failed'; errorType: string; errorMessage: string; errorTraceback: string | null };

/**
 * Marks a running item completed or failed and publishes the change. An item that is no longer
 * `in_progress` (canceled, deleted or cleared meanwhile) is left alone: returns undefined.
 * @example await finishItem(ctx, item.itemId, { status: 'completed' });
 */
export async function finishItem(
  ctx: ServiceContext,
  itemId: number,
  outcome: Outcome,
): Promise<QueueItem | undefined> {
  return withTransaction(ctx, (tx) => finishIn(tx, itemId, outcome));
}

/** `finishItem` in its transaction: the change and its event commit together. */
async function finishIn(
  ctx: ServiceContext,
  itemId: number,
  outcome: Outcome,
): Promise<QueueItem | undefined> {
  const now = ctx.clock.now();
  const changed = await ctx.db
    .update(sessionQueue)
    .set(
      outcome.status === 'completed'
        ? { status: 'completed', completedAt: now, updatedAt: now }
        : {
            status: 'failed',
            completedAt: now,
            updatedAt: now,
            errorType: outcome.errorType,
            errorMessage: outcome.errorMessage,
            errorTraceback: outcome.errorTraceback,
          },
    )
    .where(and(eq(sessionQueue.itemId, itemId), eq(sessionQueue.status, 'in_progress')))
    .returning({ itemId: sessionQueue.itemId });
  if (changed.length === 0) {
    return undefined;
  }
  const [row] = await selectItems(ctx.db).where(eq(sessionQueue.itemId, itemId));
  const item = toQueueItem(row as ItemRow);
  await publishStatusChanged(ctx.db, ctx.channels, item);
  return item;
}
