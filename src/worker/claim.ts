import { type SQL, sql } from 'drizzle-orm';
import type { DbOrTx } from '../core/db.ts';
import { executePrepared } from '../db/prepared.ts';
import { rowsOf } from '../db/rows.ts';
import { queueReadCacheOf } from '../queue/counts-cache.ts';
import type { ItemRow } from '../queue/item-dto.ts';
import { fromRaw } from '../queue/next-item-sql.ts';
import { announceQueue } from './wakeup.ts';

/** Seconds a claim (or a renewal) holds an item when `LEASE_SECONDS` is not set (API.md section 8). */
export const DEFAULT_LEASE_SECONDS = 30;

/**
 * How many pending items a round-robin claim considers in all, spread over the users with pending items
 * (each user's next ⌈16 / users⌉, at least their head). A claim skips rows other claimers hold locked, so it
 * comes back empty only if every candidate is held: keep this above the number of workers claiming at once.
 */
export const ROUND_ROBIN_CANDIDATES = 16;

export type Fairness = 'round_robin' | 'fifo';

export interface ClaimRequest {
  queueId: string;
  fairness: Fairness;
  workerId: string;
  device: string;
  /** The claim's time: `started_at`, the user's turn, and the lease's start. */
  now: Date;
  leaseSeconds?: number;
  /** Round-robin candidates in all (tests lower it). */
  candidates?: number;
}

const notPaused = (queueId: string) =>
  sql`NOT EXISTS (SELECT 1 FROM queue_state p WHERE p.queue_id = ${queueId} AND p.paused)`;

/**
 * The row to claim, locked `FOR UPDATE SKIP LOCKED` (API.md section 4, order of work); nothing while the
 * queue is paused.
 * - `fifo`: the pending item with the highest priority, then the lowest item_id.
 * - `round_robin`: the users with pending items and each one's head (a loose index scan of the pending items'
 *   partial index, whose first row per user is that user's head: ordered as only that index is, so the
 *   planner cannot take `(queue_id, user_id, status)`, where each step walked the user's whole history of
 *   `completed` … `in_progress` rows sorted before `pending`), each with their next ⌈`candidates` / users⌉
 *   pending items (the head, then the rest read per user only when that is more than one: with many users,
 *   a claim reads one index entry per user) in their own order (priority desc, item_id); candidates are taken by
 *   their place in their user's line first (every user's head before anyone's second item), then by the
 *   user's turn (least recently started first, never served first), then by the user's head item_id. The
 *   locks are taken in that order, one row at a time (Limit → LockRows → Nested Loop over the sorted
 *   candidates, each looked up by its key: joined to the pending set as a whole, PostgreSQL hashed every
 *   pending row on each claim, ~30 ms of CPU at 100,000 items; bench/README.md, cluster): a head
 *   another claimer holds locked is skipped and the next candidate is tried (the next user's head; the same
 *   user's second item only after every user's head). A candidate another claimer claimed and committed
 *   after this statement's snapshot fails the `status = 'pending'` recheck and is skipped the same way;
 *   `claimNext` runs the statement again if that left it nothing, so a claim does not come back empty
 *   because of concurrent ones while more items are pending than claimers hold.
 */
export function claimCandidateQuery(queueId: string, fairness: Fairness, candidates: number): SQL {
  if (fairness === 'fifo') {
    return sql`SELECT item_id FROM session_queue
      WHERE queue_id = ${queueId} AND status = 'pending' AND ${notPaused(queueId)}
      ORDER BY priority DESC, item_id ASC LIMIT 1 FOR UPDATE SKIP LOCKED`;
  }
  return sql`WITH RECURSIVE owners(user_id, item_id) AS (
      (SELECT user_id, item_id FROM session_queue WHERE queue_id = ${queueId} AND status = 'pending' ORDER BY user_id, priority DESC, item_id LIMIT 1)
      UNION ALL
      SELECT s.user_id, s.item_id FROM owners o CROSS JOIN LATERAL (
        SELECT s.user_id, s.item_id FROM session_queue s
        WHERE s.queue_id = ${queueId} AND s.status = 'pending' AND s.user_id > o.user_id
        ORDER BY s.user_id, s.priority DESC, s.item_id LIMIT 1
      ) s
    ),
    per_user AS (
      SELECT GREATEST(1, CEIL(${candidates}::numeric / GREATEST(count(*), 1)))::integer AS n FROM owners
    ),
    candidates AS MATERIALIZED (
      SELECT o.item_id, 1::bigint AS place, o.item_id AS head_id, o.user_id FROM owners o
      UNION ALL
      SELECT c.item_id, c.place, o.item_id, o.user_id
      FROM owners o
      CROSS JOIN LATERAL (
        SELECT s.item_id, row_number() OVER (ORDER BY s.priority DESC, s.item_id ASC) AS place
        FROM session_queue s
        WHERE s.queue_id = ${queueId} AND s.user_id = o.user_id AND s.status = 'pending'
        ORDER BY s.priority DESC, s.item_id ASC
        OFFSET 1 LIMIT (SELECT n - 1 FROM per_user)
      ) c
    )
    SELECT q.item_id
    FROM (
      SELECT c.item_id, c.place, c.head_id, t.last_started_at
      FROM candidates c
      LEFT JOIN queue_user_turns t ON t.queue_id = ${queueId} AND t.user_id = c.user_id
      ORDER BY c.place ASC, t.last_started_at ASC NULLS FIRST, c.head_id ASC
    ) c
    JOIN session_queue q ON q.item_id = c.item_id
    WHERE q.status = 'pending' AND ${notPaused(queueId)}
    ORDER BY c.place ASC, c.last_started_at ASC NULLS FIRST, c.head_id ASC
    LIMIT 1 FOR UPDATE OF q SKIP LOCKED`;
}

type RawItem = Record<string, unknown>;

/** When a lease taken or renewed at `now` lapses. */
export const leaseUntil = (now: Date, leaseSeconds = DEFAULT_LEASE_SECONDS) =>
  new Date(now.getTime() + leaseSeconds * 1000);

/**
 * Claims the next item for a worker in one statement: picks it (see `claimCandidateQuery`), marks it
 * `in_progress` with the worker, its device and a lease until `now + leaseSeconds`, records the owner's
 * round-robin turn (never moved back: claims commit out of order, and processes' clocks differ), and reads it back with the owner's names (LEFT JOIN users). Returns undefined when
 * nothing is pending or the queue is paused. Safe to call from any number of workers and processes at once:
 * no two get the same item.
 * @example const item = await claimNext(db, { queueId: 'default', fairness: 'round_robin', workerId, device: 'cpu', now: clock.now() });
 */
export async function claimNext(db: DbOrTx, req: ClaimRequest): Promise<ItemRow | undefined> {
  const at = req.now.toISOString();
  const lease = leaseUntil(req.now, req.leaseSeconds).toISOString();
  const picked = claimCandidateQuery(req.queueId, req.fairness, req.candidates ?? ROUND_ROBIN_CANDIDATES);
  const statement = sql`WITH picked AS (${picked}),
    claimed AS (
      UPDATE session_queue q SET status = 'in_progress', started_at = ${at}::timestamptz,
        updated_at = ${at}::timestamptz, worker_id = ${req.workerId}, device = ${req.device},
        lease_expires_at = ${lease}::timestamptz
      FROM picked WHERE q.item_id = picked.item_id
      RETURNING q.*
    ),
    turn AS (
      INSERT INTO queue_user_turns (queue_id, user_id, last_started_at)
      SELECT queue_id, user_id, started_at FROM claimed
      ON CONFLICT (queue_id, user_id) DO UPDATE
      SET last_started_at = GREATEST(queue_user_turns.last_started_at, EXCLUDED.last_started_at)
    )
    SELECT claimed.*, u.display_name AS user_display_name, u.email AS user_email,
      s.pending AS queue_pending
    FROM (SELECT EXISTS (SELECT 1 FROM session_queue WHERE queue_id = ${req.queueId} AND status = 'pending')
        AND ${notPaused(req.queueId)} AS pending) s
    LEFT JOIN claimed ON true LEFT JOIN users u ON u.user_id = claimed.user_id`;
  // A round-robin statement tries only its candidates as its snapshot saw them: if claimers that committed
  // while it ran took every one it did not find held, a fresh statement (a new snapshot) sees the rest. The
  // statement's one row says whether that can be (items were pending, the queue running); a wake-up on an
  // empty or paused queue therefore costs one statement, not three.
  for (let attempt = req.fairness === 'round_robin' ? 3 : 1; attempt > 0; attempt--) {
    const [row] = rowsOf<RawItem>(await executePrepared(db, statement));
    if (row && row.item_id !== null && row.item_id !== undefined) {
      return fromRaw(row);
    }
    if (!row?.queue_pending) {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Pauses or resumes a queue for every process (kept across restarts), and announces it (`QUEUE_NOTIFY`, on
 * commit). Returns whether it is now paused.
 * @example await setQueuePaused(db, 'default', true, clock.now());
 */
export async function setQueuePaused(
  db: DbOrTx,
  queueId: string,
  paused: boolean,
  now: Date,
): Promise<boolean> {
  await db.execute(sql`INSERT INTO queue_state (queue_id, paused, updated_at)
    VALUES (${queueId}, ${paused}, ${now.toISOString()}::timestamptz)
    ON CONFLICT (queue_id) DO UPDATE SET paused = EXCLUDED.paused, updated_at = EXCLUDED.updated_at`);
  await announceQueue(db, queueId, paused ? 'paused' : 'resumed');
  return paused;
}

/** Whether a queue is paused (a queue never paused is running). */
export function isQueuePaused(db: DbOrTx, queueId: string): Promise<boolean> {
  const read = async () =>
    rowsOf<{ paused: boolean }>(
      await executePrepared(db, sql`SELECT paused FROM queue_state WHERE queue_id = ${queueId}`),
    )[0]?.paused ?? false;
  // Every status poll asks: kept until a write to `queue_state` (or the queue) commits (migration 0013).
  const cache = queueReadCacheOf(db);
  return cache ? cache.get(`paused ${queueId}`, read) : read();
}
