import { asc, desc, eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { images } from '../../db/schema/index.ts';
import { boardForActor } from './board-dto.ts';

/**
 * The names of a board's images in gallery order (newest first), for its owner or an admin.
 * @example const names = await listBoardImageNames({ ctx, input: { boardId } });
 */
export async function listBoardImageNames({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { boardId: string };
}) {
  const actor = requireActor(ctx.actor);
  const board = await boardForActor(ctx.db, actor, input.boardId);
  const rows = await ctx.db
    .select({ imageName: images.imageName })
    .from(images)
    .where(eq(images.boardId, board.boardId))
    .orderBy(desc(images.createdAt), asc(images.imageName));
  return rows.map((r) => r.imageName);
}
