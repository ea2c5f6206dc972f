import { asc, desc, eq, type SQL, sql } from 'drizzle-orm';
import type { AuthUser } from '../../core/actor.ts';
import type { DbOrTx } from '../../core/db.ts';
import { NotFoundError } from '../../core/errors.ts';
import { boards } from '../../db/schema/index.ts';
import type { BoardDTO } from './schemas.ts';

/**
 * Boards with their image count and cover (the newest image, in the gallery's order), as the API shows them.
 */
export async function selectBoardDtos(db: DbOrTx, where: SQL | undefined): Promise<BoardDTO[]> {
  const rows = await db
    .select({
      boardId: boards.boardId,
      boardName: boards.boardName,
      userId: boards.userId,
      createdAt: boards.createdAt,
      // Written out with an alias: drizzle leaves columns unqualified inside a select's sql fragment, so the
      // inner `board_id` would bind to the subquery's own table.
      imageCount: sql<number>`(SELECT count(*)::int FROM images i WHERE i.board_id = boards.board_id)`,
      cover: sql<string | null>`(SELECT i.image_name FROM images i WHERE i.board_id = boards.board_id
        ORDER BY i.created_at DESC, i.image_name ASC LIMIT 1)`,
    })
    .from(boards)
    .where(where)
    .orderBy(desc(boards.createdAt), asc(boards.boardId));
  return rows.map((r) => ({
    board_id: r.boardId,
    board_name: r.boardName,
    user_id: r.userId,
    image_count: Number(r.imageCount),
    cover_image_name: r.cover,
    created_at: r.createdAt.toISOString(),
  }));
}

/** One board as the API shows it. */
export async function boardDto(db: DbOrTx, boardId: string): Promise<BoardDTO> {
  const [dto] = await selectBoardDtos(db, eq(boards.boardId, boardId));
  if (!dto) {
    throw new NotFoundError('Board', boardId);
  }
  return dto;
}

/** A board the actor may see and change: their own, or any for an admin; otherwise 404, never 403. */
export async function boardForActor(db: DbOrTx, actor: AuthUser, boardId: string, forUpdate = false) {
  const query = db.select().from(boards).where(eq(boards.boardId, boardId)).limit(1);
  const [row] = forUpdate ? await query.for('update') : await query;
  if (!row || (!actor.isAdmin && row.userId !== actor.userId)) {
    throw new NotFoundError('Board', boardId);
  }
  return row;
}
