import { z } from '@hono/zod-openapi';
import { BatchIds, ItemIds, QueueId, QueueItem, StatusCounts } from '../../queue/schemas.ts';

export const QueueParam = z.object({ queue_id: QueueId });
/** A queue item id in a path: decimal digits only (`0x10`, `1e1` or ` 16` are 422, not item 16). */
const ItemIdParam = z
  .string()
  .regex(/^[0-9]{1,10}$/, 'must be a decimal integer')
  .transform(Number)
  .pipe(z.number().int().min(1).max(2_147_483_647));
export const ItemParam = QueueParam.extend({ item_id: ItemIdParam });
export const BatchParam = QueueParam.extend({ batch_id: z.string().min(1).max(200) });

export const ItemsPage = z
  .object({ items: z.array(QueueItem), has_more: z.boolean(), next_cursor: z.string().nullable() })
  .openapi('QueueItemsPage');
export const ItemsByIdsInput = z.strictObject({ item_ids: ItemIds }).openapi('ItemsByIdsInput');
export const BatchIdsInput = z.strictObject({ batch_ids: BatchIds }).openapi('BatchIdsInput');
export const OwnerInput = z.strictObject({ user_id: z.string().min(1).max(200) }).openapi('OwnerInput');
export const DestinationQuery = z.object({ destination: z.string().min(1).max(300) });

export const QueueCounts = StatusCounts.extend({
  queue_id: z.string(),
  item_id: z.number().int().nullable(),
});
export const ProcessorState = z
  .object({ is_started: z.boolean(), is_processing: z.boolean() })
  .openapi('ProcessorState');
export const QueueStatusResponse = z
  .object({ queue: QueueCounts, mine: StatusCounts, processor: ProcessorState })
  .openapi('QueueStatus');
export const BatchStatus = StatusCounts.extend({
  queue_id: z.string(),
  batch_id: z.string(),
  origin: z.string().nullable(),
  destination: z.string().nullable(),
}).openapi('BatchStatus');
export const DestinationCounts = StatusCounts.extend({
  queue_id: z.string(),
  destination: z.string(),
}).openapi('DestinationCounts');
export const EnqueueResult = z
  .object({
    queue_id: z.string(),
    batch: z.record(z.string(), z.unknown()),
    enqueued: z.number().int(),
    requested: z.number().int(),
    priority: z.number().int(),
    item_ids: z.array(z.number().int()),
  })
  .openapi('EnqueueResult');
export const RetryResult = z
  .object({
    queue_id: z.string(),
    retried_item_ids: z.array(z.number().int()),
    item_ids: z.array(z.number().int()),
  })
  .openapi('RetryResult');
export const Canceled = z.object({ canceled: z.number().int() });
export const Deleted = z.object({ deleted: z.number().int() });
