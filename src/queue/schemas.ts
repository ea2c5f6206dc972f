import { z } from '@hono/zod-openapi';
import { QUEUE_STATUSES } from '../db/schema/index.ts';

export const QueueStatus = z.enum(QUEUE_STATUSES);
export const QueueId = z.string().min(1).max(100);
export const ItemIdsLimit = 1000;

export const QueueItem = z
  .object({
    item_id: z.number().int(),
    queue_id: z.string(),
    batch_id: z.string().nullable(),
    session_id: z.string().nullable(),
    status: QueueStatus,
    priority: z.number().int(),
    origin: z.string().nullable(),
    destination: z.string().nullable(),
    field_values: z.array(z.unknown()).nullable(),
    session: z.record(z.string(), z.unknown()).nullable(),
    workflow: z.unknown().nullable(),
    error_type: z.string().nullable(),
    error_message: z.string().nullable(),
    error_traceback: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    started_at: z.string().nullable(),
    completed_at: z.string().nullable(),
    retried_from_item_id: z.number().int().nullable(),
    /** The worker that claimed the item and its device (API.md section 8); null until claimed. */
    worker_id: z.string().nullable(),
    device: z.string().nullable(),
    user_id: z.string(),
    user_display_name: z.string().nullable(),
    user_email: z.string().nullable(),
    redacted: z.boolean(),
  })
  .openapi('QueueItem');
export type QueueItem = z.infer<typeof QueueItem>;

export const StatusCounts = z.object({
  pending: z.number().int(),
  in_progress: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  canceled: z.number().int(),
  total: z.number().int(),
});
export type StatusCounts = z.infer<typeof StatusCounts>;

export const UserScope = z.enum(['me', 'all']);

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  status: QueueStatus.optional(),
  user: UserScope.default('all'),
});
export type ListQuery = z.input<typeof ListQuery>;

export const ListAllQuery = z.object({
  status: QueueStatus.optional(),
  destination: z.string().max(300).optional(),
  user: UserScope.default('all'),
});
export type ListAllQuery = z.input<typeof ListAllQuery>;

export const ItemIds = z.array(z.number().int().min(1).max(2_147_483_647)).max(ItemIdsLimit);
export const BatchIds = z.array(z.string().min(1).max(200)).max(ItemIdsLimit);
