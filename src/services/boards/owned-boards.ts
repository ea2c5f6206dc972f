import { and, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../core/db.ts';
import { boards } from '../../db/schema/index.ts';

/**
 * Which of these board ids are boards of `userId`, in one query (the ids travel as one JSON parameter).
 * @example const mine = await ownedBoardIds(db, userId, stringsAtKey(body.batch, 'board_id'));
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
