import { sql } from 'drizzle-orm';
import type { QueueSettings } from '../core/context.ts';
import type { DbOrTx } from '../core/db.ts';
import { executePrepared } from '../db/prepared.ts';
import { rowsOf } from '../db/rows.ts';
import type { ItemRow } from '../queue/item-dto.ts';
import { fromRaw, nextItemIdQuery, type RawItem } from '../queue/next-item-sql.ts';

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
