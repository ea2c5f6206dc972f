import { and, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../core/db.ts';
import { boards } from '../../db/schema/index.ts';

/** Every string value of a `board_id` key anywhere in a JSON value (graph nodes, batch data). */
export function boardIdsIn(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) {
      boardIdsIn(v, found);
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'board_id' && typeof v === 'string') {
        found.add(v);
      } else {
        boardIdsIn(v, found);
      }
    }
  }
  return found;
}

/**
 * Which of these board ids are boards of `userId`, in one query (the ids travel as one JSON parameter).
 * @example const mine = await ownedBoardIds(db, userId, boardIdsIn(body.batch));
 */
export async function ownedBoardIds(db: DbOrTx, userId: string, ids: Set<string>): Promise<Set<string>> {
  if (ids.size === 0) {
    return new Set();
  }
  const rows = await db
    .select({ boardId: boards.boardId })
    .from(boards)
    .where(
      and(
        eq(boards.userId, userId),
        sql`${boards.boardId} IN (SELECT jsonb_array_elements_text(${JSON.stringify([...ids])}::jsonb))`,
      ),
    );
  return new Set(rows.map((r) => r.boardId));
}
