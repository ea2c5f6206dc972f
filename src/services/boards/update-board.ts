import { eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { boards } from '../../db/schema/index.ts';
import { boardDto, boardForActor } from './board-dto.ts';
import { UpdateBoardInput } from './schemas.ts';

/**
 * Renames a board (owner or admin; anyone else gets 404).
 * @example await updateBoard({ ctx, input: { boardId, patch: { board_name: 'Dogs' } } });
 */
export async function updateBoard({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { boardId: string; patch: UpdateBoardInput };
}) {
  const actor = requireActor(ctx.actor);
  const patch = UpdateBoardInput.parse(input.patch);
  const row = await boardForActor(ctx.db, actor, input.boardId);
  await ctx.db.update(boards).set({ boardName: patch.board_name }).where(eq(boards.boardId, row.boardId));
  return boardDto(ctx.db, row.boardId);
}
