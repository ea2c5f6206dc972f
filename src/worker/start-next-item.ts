import { type QueueSettings, type ServiceContext, withTransaction } from '../core/context.ts';
import { type ItemRow, toQueueItem } from '../queue/item-dto.ts';
import { publishStatusChanged } from '../queue/publish.ts';
import { claimNextItem } from './claim-next-item.ts';

/**
 * Claims the next item in the queue's order and publishes it `in_progress`; undefined when none is pending.
 * @example const item = await startNextItem(ctx, 'default', 'round_robin');
 */
export async function startNextItem(
  ctx: ServiceContext,
  queueId: string,
  fairness: QueueSettings['fairness'],
): Promise<ItemRow | undefined> {
  return withTransaction(ctx, async (tx) => {
    const row = await claimNextItem(tx.db, queueId, fairness, tx.clock.now());
    if (row) {
      await publishStatusChanged(tx.db, tx.channels, toQueueItem(row));
    }
    return row;
  });
}
