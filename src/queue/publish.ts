import type { DbOrTx } from '../core/db.ts';
import type { EventPublisher } from '../core/events.ts';
import type { QueueItem } from './schemas.ts';
import { statusChangeCounts } from './status-counts.ts';

/**
 * Publishes `queue_item_status_changed` for an item, with its batch's and the queue's counts read after the
 * change (in its transaction, with the transaction's `channels`: the event commits with the change), both
 * from one statement.
 */
export async function publishStatusChanged(
  db: DbOrTx,
  events: EventPublisher,
  item: QueueItem,
): Promise<void> {
  const batchId = item.batch_id ?? '';
  const { batch: batchStatus, queue: queueStatus } = await statusChangeCounts(
    db,
    item.queue_id,
    batchId,
    item.user_id,
  );
  events.publish({
    name: 'queue_item_status_changed',
    queueId: item.queue_id,
    ownerId: item.user_id,
    data: {
      queue_id: item.queue_id,
      item_id: item.item_id,
      batch_id: item.batch_id,
      session_id: item.session_id,
      user_id: item.user_id,
      status: item.status,
      error_type: item.error_type,
      error_message: item.error_message,
      created_at: item.created_at,
      updated_at: item.updated_at,
      started_at: item.started_at,
      completed_at: item.completed_at,
      batch_status: batchStatus,
      queue_status: queueStatus,
    },
  });
}

/** Groups ids by their owner, keeping order: one bulk event per owner. */
export function byOwner<T extends { userId: string; itemId: number }>(rows: T[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const r of rows) {
    groups.set(r.userId, [...(groups.get(r.userId) ?? []), r.itemId]);
  }
  return groups;
}
