import { type SQL, sql } from 'drizzle-orm';
import type { QueueSettings } from '../core/context.ts';
import type { QueueRow } from '../db/schema/index.ts';
import type { ItemRow } from './item-dto.ts';

/**
 * The id of the item that runs next, as one SELECT (API.md section 4, order of work).
 * - `fifo`: the pending item with the highest priority, then the lowest item_id.
 * - `round_robin`: among users with pending items (found by a loose index scan of the pending items' partial
 *   index, as in `claimCandidateQuery`), the one whose last started
 *   item is oldest, a user never served first, ties by the lowest next item_id; then that user's pending
 *   item with the highest priority, then the lowest item_id. A user's priority orders only their own items.
 * With `lock`, the candidate rows are locked `FOR UPDATE SKIP LOCKED`, so concurrent claimers never pick
 * the same row.
 */
export function nextItemIdQuery(queueId: string, fairness: QueueSettings['fairness'], lock: boolean): SQL {
  const locking = lock ? sql.raw(' FOR UPDATE SKIP LOCKED') : sql``;
  if (fairness === 'fifo') {
    return sql`SELECT item_id FROM session_queue
      WHERE queue_id = ${queueId} AND status = 'pending'
      ORDER BY priority DESC, item_id ASC LIMIT 1${locking}`;
  }
  return sql`WITH RECURSIVE owners(user_id) AS (
      (SELECT user_id FROM session_queue WHERE queue_id = ${queueId} AND status = 'pending' ORDER BY user_id, priority DESC, item_id LIMIT 1)
      UNION ALL
      SELECT (SELECT s.user_id FROM session_queue s
              WHERE s.queue_id = ${queueId} AND s.status = 'pending' AND s.user_id > o.user_id
              ORDER BY s.user_id, s.priority DESC, s.item_id LIMIT 1)
      FROM owners o WHERE o.user_id IS NOT NULL
    )
    SELECT head.item_id FROM owners o
    LEFT JOIN queue_user_turns t ON t.queue_id = ${queueId} AND t.user_id = o.user_id
    CROSS JOIN LATERAL (
      SELECT s.item_id FROM session_queue s
      WHERE s.queue_id = ${queueId} AND s.user_id = o.user_id AND s.status = 'pending'
      ORDER BY s.priority DESC, s.item_id ASC LIMIT 1${locking}
    ) head
    WHERE o.user_id IS NOT NULL
    ORDER BY t.last_started_at ASC NULLS FIRST, head.item_id ASC
    LIMIT 1`;
}

export type RawItem = Record<string, unknown>;

const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

/** A raw snake_case row of `session_queue` plus the joined names, as Drizzle would map it. */
export function fromRaw(r: RawItem): ItemRow {
  return {
    itemId: Number(r.item_id),
    queueId: r.queue_id as string,
    batchId: r.batch_id as string,
    sessionId: r.session_id as string,
    status: r.status as QueueRow['status'],
    priority: Number(r.priority),
    fieldValues: (r.field_values ?? null) as unknown[] | null,
    session: r.session as Record<string, unknown>,
    workflow: r.workflow ?? null,
    origin: (r.origin ?? null) as string | null,
    destination: (r.destination ?? null) as string | null,
    errorType: (r.error_type ?? null) as string | null,
    errorMessage: (r.error_message ?? null) as string | null,
    errorTraceback: (r.error_traceback ?? null) as string | null,
    createdAt: date(r.created_at) as Date,
    updatedAt: date(r.updated_at) as Date,
    startedAt: date(r.started_at),
    completedAt: date(r.completed_at),
    userId: r.user_id as string,
    retriedFromItemId:
      r.retried_from_item_id === null || r.retried_from_item_id === undefined
        ? null
        : Number(r.retried_from_item_id),
    interruptions: Number(r.interruptions),
    workerId: (r.worker_id ?? null) as string | null,
    device: (r.device ?? null) as string | null,
    leaseExpiresAt: date(r.lease_expires_at),
    userDisplayName: (r.user_display_name ?? null) as string | null,
    userEmail: (r.user_email ?? null) as string | null,
  };
}
