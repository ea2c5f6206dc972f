import { type SQL, sql } from 'drizzle-orm';
import { rowsOf } from '../../db/migrate.ts';
import { executePrepared } from '../../db/prepared.ts';
import type { QueueRow } from '../../db/schema/index.ts';
import type { DbOrTx } from '../../db/types.ts';
import type { QueueSettings, ServiceContext } from '../context.ts';
import { assertQueue, requireActor } from './access.ts';
import { type ItemRow, redactFor, toQueueItem } from './item-dto.ts';

/**
 * The id of the item that runs next, as one SELECT (API.md section 4, order of work).
 * - `fifo`: the pending item with the highest priority, then the lowest item_id.
 * - `round_robin`: among users with pending items (found by a loose index scan), the one whose last started
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
      (SELECT user_id FROM session_queue WHERE queue_id = ${queueId} AND status = 'pending' ORDER BY user_id LIMIT 1)
      UNION ALL
      SELECT (SELECT s.user_id FROM session_queue s
              WHERE s.queue_id = ${queueId} AND s.status = 'pending' AND s.user_id > o.user_id
              ORDER BY s.user_id LIMIT 1)
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

type RawItem = Record<string, unknown>;
const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

/** A raw snake_case row of `session_queue` plus the joined names, as Drizzle would map it. */
function fromRaw(r: RawItem): ItemRow {
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
    retriedFromItemId: r.retried_from_item_id === null ? null : Number(r.retried_from_item_id),
    interruptions: Number(r.interruptions),
    workerId: (r.worker_id ?? null) as string | null,
    device: (r.device ?? null) as string | null,
    leaseExpiresAt: date(r.lease_expires_at),
    userDisplayName: (r.user_display_name ?? null) as string | null,
    userEmail: (r.user_email ?? null) as string | null,
  };
}

/**
 * Claims the next item in one statement: picks it (locked, skipping rows other claimers hold), marks it
 * `in_progress`, records the owner's turn, and reads it back with the owner's names (LEFT JOIN users).
 * Returns undefined when nothing is pending.
 * @example const item = await claimNextItem(db, 'default', 'round_robin', new Date());
 */
export async function claimNextItem(
  db: DbOrTx,
  queueId: string,
  fairness: QueueSettings['fairness'],
  now: Date,
): Promise<ItemRow | undefined> {
  const at = now.toISOString();
  const result = await executePrepared(
    db,
    sql`WITH picked AS (${nextItemIdQuery(queueId, fairness, true)}),
    claimed AS (
      UPDATE session_queue q SET status = 'in_progress', started_at = ${at}::timestamptz, updated_at = ${at}::timestamptz
      FROM picked WHERE q.item_id = picked.item_id AND q.status = 'pending'
      RETURNING q.*
    ),
    turn AS (
      INSERT INTO queue_user_turns (queue_id, user_id, last_started_at)
      SELECT queue_id, user_id, started_at FROM claimed
      ON CONFLICT (queue_id, user_id) DO UPDATE SET last_started_at = EXCLUDED.last_started_at
    )
    SELECT claimed.*, u.display_name AS user_display_name, u.email AS user_email
    FROM claimed LEFT JOIN users u ON u.user_id = claimed.user_id`,
  );
  const [row] = rowsOf<RawItem>(result);
  return row ? fromRaw(row) : undefined;
}

/** The item that would be claimed next, without claiming it (GET /next), redacted for the caller. */
export async function getNextItem({ ctx, input }: { ctx: ServiceContext; input: { queueId: string } }) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const result =
    await ctx.db.execute(sql`SELECT q.*, u.display_name AS user_display_name, u.email AS user_email
    FROM session_queue q LEFT JOIN users u ON u.user_id = q.user_id
    WHERE q.item_id = (${nextItemIdQuery(input.queueId, ctx.queue.fairness, false)})`);
  const [row] = rowsOf<RawItem>(result);
  return row ? redactFor(actor, toQueueItem(fromRaw(row))) : null;
}
