import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { boards } from '../../db/schema/index.ts';
import { CreateBoardInput } from './schemas.ts';

/**
 * Creates an empty board of the caller's.
 * @example const board = await createBoard({ ctx, input: { board_name: 'Cats' } });
 */
export async function createBoard({ ctx, input }: { ctx: ServiceContext; input: CreateBoardInput }) {
  const actor = requireActor(ctx.actor);
  const data = CreateBoardInput.parse(input);
  const row = {
    boardId: crypto.randomUUID(),
    boardName: data.board_name,
    userId: actor.userId,
    createdAt: ctx.clock.now(),
  };
  await ctx.db.insert(boards).values(row);
  return {
    board_id: row.boardId,
    board_name: row.boardName,
    user_id: row.userId,
    image_count: 0,
    cover_image_name: null,
    created_at: row.createdAt.toISOString(),
  };
}
