import { and, eq, sql } from 'drizzle-orm';
import type { AuthUser } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import type { DbOrTx } from '../../core/db.ts';
import { BadRequestError, ForbiddenError, LimitExceededError, NotFoundError } from '../../core/errors.ts';
import { executePrepared } from '../../db/prepared.ts';
import { rowsOf } from '../../db/rows.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { type ItemRow, selectItems } from '../../queue/item-dto.ts';

export const DEFAULT_QUEUE_ID = 'default';

/** Only the `default` queue exists (API.md section 4); any other id is 404. */
export function assertQueue(queueId: string): void {
  if (queueId !== DEFAULT_QUEUE_ID) {
    throw new NotFoundError('Queue', queueId);
  }
}

/** The acting user, which every queue verb needs. */
export function requireActor(actor: AuthUser | null): AuthUser {
  if (!actor) {
    throw new ForbiddenError('This action needs a signed-in user.');
  }
  return actor;
}

export async function findItem(db: DbOrTx, queueId: string, itemId: number): Promise<ItemRow | undefined> {
  const [row] = await selectItems(db)
    .where(and(eq(sessionQueue.queueId, queueId), eq(sessionQueue.itemId, itemId)))
    .limit(1);
  return row;
}

/**
 * An item the actor may change: 404 when it does not exist, 403 when it is another user's and the actor is
 * not an admin.
 */
export async function itemForChange(
  db: DbOrTx,
  actor: AuthUser,
  queueId: string,
  itemId: number,
): Promise<ItemRow> {
  assertQueue(queueId);
  const row = await findItem(db, queueId, itemId);
  if (!row) {
    throw new NotFoundError('Queue item', String(itemId));
  }
  if (!actor.isAdmin && row.userId !== actor.userId) {
    throw new ForbiddenError(`Queue item ${itemId} belongs to another user.`);
  }
  return row;
}

/**
 * Checks, inside the inserting transaction, that `adding` more items fit the queue's capacity and each
 * owner's `max_pending` (pending + in progress). A queue-wide advisory lock makes concurrent enqueues wait
 * for each other, so two batches cannot both squeeze into the last slots.
 */
export async function assertCapacity(
  tx: ServiceContext,
  queueId: string,
  addingByOwner: Map<string, number>,
) {
  await executePrepared(tx.db, sql`SELECT pg_advisory_xact_lock(hashtext(${`queue:${queueId}`}))`);
  const adding = [...addingByOwner.values()].reduce((a, b) => a + b, 0);
  // One statement, one pass over the queue's active items, while the lock is held (every enqueue waits for
  // it): the queue's count, and each owner's count and own limit.
  const rows = rowsOf<{ user_id: string; max_pending: number | null; active: number; mine: number }>(
    await executePrepared(
      tx.db,
      sql`WITH active AS (SELECT user_id FROM session_queue
          WHERE queue_id = ${queueId} AND status IN ('pending', 'in_progress'))
        SELECT o.user_id, u.max_pending, (SELECT count(*)::int FROM active) AS active,
          (SELECT count(*)::int FROM active a WHERE a.user_id = o.user_id) AS mine
        FROM jsonb_array_elements_text(${JSON.stringify([...addingByOwner.keys()])}::jsonb) AS o(user_id)
        LEFT JOIN users u ON u.user_id = o.user_id`,
    ),
  );
  const active = Number(rows[0]?.active ?? 0);
  if (active + adding > tx.queue.maxSize) {
    throw new LimitExceededError(
      `The queue holds at most ${tx.queue.maxSize} pending and running items; it has ${active}, and ${adding} more were asked for.`,
    );
  }
  const owners = new Map(rows.map((r) => [r.user_id, r]));
  for (const [userId, n] of addingByOwner) {
    const owner = owners.get(userId);
    const limit = owner?.max_pending == null ? tx.userMaxPending : Number(owner.max_pending);
    const mine = Number(owner?.mine ?? 0);
    if (mine + n > limit) {
      throw new LimitExceededError(
        `At most ${limit} pending and running items per user; ${mine} are queued, and ${n} more were asked for.`,
      );
    }
  }
}

/** A list position: the last item of the previous page, in (priority desc, item_id asc) order. */
export interface ListCursor {
  priority: number;
  itemId: number;
}

const b64url = (s: string) => btoa(s).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

export function encodeCursor(c: ListCursor): string {
  return b64url(`v1:${c.priority}:${c.itemId}`);
}

/** Decodes a cursor this server issued; anything else is 400 `bad_request`. */
export function decodeCursor(cursor: string): ListCursor {
  let text = '';
  try {
    text = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    // falls through to the error below
  }
  const m = /^v1:(-?\d{1,10}):(\d{1,10})$/.exec(text);
  if (!m) {
    throw new BadRequestError('The cursor was not issued by this server.');
  }
  return { priority: Number(m[1]), itemId: Number(m[2]) };
}
