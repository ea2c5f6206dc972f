import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../core/db.ts';
import { rowsOf } from '../db/rows.ts';
import type { QueueStatus } from '../db/schema/index.ts';
import type { ItemRow } from '../queue/item-dto.ts';
import { fromRaw } from '../queue/next-item-sql.ts';
import { DEFAULT_LEASE_SECONDS, leaseUntil } from './claim.ts';
import { announceQueue } from './wakeup.ts';

/** Interruptions after which a lapsed item fails instead of running again (API.md section 4). */
export const MAX_INTERRUPTIONS = 3;

/** A worker's hold on an item, as its claim gave it. */
export interface LeaseRef {
  itemId: number;
  workerId: string;
}

/**
 * The lease is held when the item is still `in_progress`, still this worker's, and its lease has not lapsed
 * at `now`. A lapsed lease counts as lost even before some process re-queues the item: that process may be
 * doing it right now.
 */
const held = (ref: LeaseRef, now: Date) =>
  sql`item_id = ${ref.itemId} AND worker_id = ${ref.workerId} AND status = 'in_progress'
    AND lease_expires_at > ${now.toISOString()}::timestamptz`;

/**
 * Extends the lease to `now + leaseSeconds` if this worker still holds it. Returns false when the lease was
 * lost (lapsed, re-queued, canceled or deleted): the worker must stop and write nothing more for the item.
 * @example if (!(await renewLease(db, lease, clock.now(), 30))) abort();
 */
export async function renewLease(
  db: DbOrTx,
  ref: LeaseRef,
  now: Date,
  leaseSeconds = DEFAULT_LEASE_SECONDS,
): Promise<boolean> {
  const rows = rowsOf<{ item_id: number }>(
    await db.execute(sql`UPDATE session_queue
      SET lease_expires_at = ${leaseUntil(now, leaseSeconds).toISOString()}::timestamptz
      WHERE ${held(ref, now)} RETURNING item_id`),
  );
  return rows.length === 1;
}

export interface FinishInput {
  status: Extract<QueueStatus, 'completed' | 'failed' | 'canceled'>;
  errorType?: string | null;
  errorMessage?: string | null;
  errorTraceback?: string | null;
}

/**
 * Ends a run: sets the final status (and error), `completed_at`, and releases the lease (`lease_expires_at`
 * null; `worker_id` and `device` stay, to show who ran it) — only if this worker still holds the lease.
 * Returns the updated row (with the owner's names), or undefined when the lease was lost: a worker that lost
 * its lease cannot complete the item, and must publish nothing. Run it in the transaction that writes the
 * run's results, so they commit only with the finish.
 * @example const row = await finishItem(tx, lease, { status: 'completed' }, clock.now());
 */
export async function finishItem(
  db: DbOrTx,
  ref: LeaseRef,
  input: FinishInput,
  now: Date,
): Promise<ItemRow | undefined> {
  const at = now.toISOString();
  const result = await db.execute(sql`WITH done AS (
      UPDATE session_queue SET status = ${input.status}, completed_at = ${at}::timestamptz,
        updated_at = ${at}::timestamptz, lease_expires_at = NULL,
        error_type = ${input.errorType ?? null}, error_message = ${input.errorMessage ?? null},
        error_traceback = ${input.errorTraceback ?? null}
      WHERE ${held(ref, now)}
      RETURNING *
    )
    SELECT done.*, u.display_name AS user_display_name, u.email AS user_email
    FROM done LEFT JOIN users u ON u.user_id = done.user_id`);
  const [row] = rowsOf<Record<string, unknown>>(result);
  return row ? fromRaw(row) : undefined;
}

/** An item `requeueLapsed` changed, and the worker that had held it. */
export interface LapsedItem {
  item: ItemRow;
  /** The worker whose lease lapsed (null for an item left running before leases existed). */
  previousWorkerId: string | null;
}

export interface RequeueOptions {
  /** Only this queue (default: every queue). */
  queueId?: string;
  /**
   * Re-queue every `in_progress` item whatever its lease: for the start of a single process on its own
   * database (PGlite), where nothing else can be running. Never with other processes sharing the database.
   */
  ignoreLeases?: boolean;
}

/**
 * Puts the items whose lease lapsed at `now` (or that have none) back to `pending` with one more
 * interruption, clearing worker, device and lease; an item interrupted for the third time is marked `failed`
 * with `error_type: interrupted` instead. One statement; rows another process is re-queuing at the same
 * moment are skipped (`SKIP LOCKED`), so each lapse is counted once. Any process runs it periodically, and
 * at start (restart recovery is the same thing). When it re-queued something it announces `requeued`
 * (`QUEUE_NOTIFY`, on commit) so idle workers anywhere claim. Returns what it changed, in item order, for the
 * caller to publish `queue_item_status_changed`.
 * @example const { requeued, failed } = await requeueLapsed(db, clock.now());
 */
export async function requeueLapsed(
  db: DbOrTx,
  now: Date,
  opts: RequeueOptions = {},
): Promise<{ requeued: LapsedItem[]; failed: LapsedItem[] }> {
  const at = now.toISOString();
  const inQueue = opts.queueId === undefined ? sql`TRUE` : sql`queue_id = ${opts.queueId}`;
  const lapsed = opts.ignoreLeases
    ? sql`TRUE`
    : sql`(lease_expires_at IS NULL OR lease_expires_at <= ${at}::timestamptz)`;
  const failing = sql`q.interruptions + 1 >= ${MAX_INTERRUPTIONS}`;
  const message = `The item's worker stopped while it ran, ${MAX_INTERRUPTIONS} times.`;
  const result = await db.execute(sql`WITH lapsed AS (
      SELECT item_id, worker_id FROM session_queue
      WHERE status = 'in_progress' AND ${inQueue} AND ${lapsed}
      ORDER BY item_id
      FOR UPDATE SKIP LOCKED
    ),
    changed AS (
      UPDATE session_queue q SET
        status = CASE WHEN ${failing} THEN 'failed' ELSE 'pending' END,
        interruptions = q.interruptions + 1,
        updated_at = ${at}::timestamptz,
        started_at = CASE WHEN ${failing} THEN q.started_at ELSE NULL END,
        completed_at = CASE WHEN ${failing} THEN ${at}::timestamptz ELSE NULL END,
        error_type = CASE WHEN ${failing} THEN 'interrupted' ELSE q.error_type END,
        error_message = CASE WHEN ${failing} THEN ${message} ELSE q.error_message END,
        error_traceback = CASE WHEN ${failing} THEN NULL ELSE q.error_traceback END,
        worker_id = CASE WHEN ${failing} THEN q.worker_id ELSE NULL END,
        device = CASE WHEN ${failing} THEN q.device ELSE NULL END,
        lease_expires_at = NULL
      FROM lapsed WHERE q.item_id = lapsed.item_id AND q.status = 'in_progress'
      RETURNING q.*, lapsed.worker_id AS previous_worker_id
    )
    SELECT changed.*, u.display_name AS user_display_name, u.email AS user_email
    FROM changed LEFT JOIN users u ON u.user_id = changed.user_id
    ORDER BY changed.item_id`);
  const requeued: LapsedItem[] = [];
  const failed: LapsedItem[] = [];
  for (const row of rowsOf<Record<string, unknown>>(result)) {
    const entry = {
      item: fromRaw(row),
      previousWorkerId: (row.previous_worker_id ?? null) as string | null,
    };
    (entry.item.status === 'failed' ? failed : requeued).push(entry);
  }
  for (const queueId of new Set(requeued.map((r) => r.item.queueId))) {
    await announceQueue(db, queueId, 'requeued');
  }
  return { requeued, failed };
}
