import { eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { boards, images } from '../../db/schema/index.ts';
import { deleteImageFiles } from '../../images/store.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { boardForActor } from './board-dto.ts';

/**
 * Deletes a board (owner or admin). With `deleteImages` its images go too (rows in the transaction, files
 * after it); otherwise they become uncategorized. One `board.deleted` audit entry records how many went.
 * @example await deleteBoard({ ctx, input: { boardId, deleteImages: false } });
 */
export async function deleteBoard({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { boardId: string; deleteImages: boolean };
}) {
  const actor = requireActor(ctx.actor);
  const deleted = await withTransaction(ctx, async (tx) => {
    const board = await boardForActor(tx.db, actor, input.boardId, true);
    const names = input.deleteImages
      ? (
          await tx.db
            .delete(images)
            .where(eq(images.boardId, board.boardId))
            .returning({ imageName: images.imageName })
        ).map((r) => r.imageName)
      : [];
    await tx.db.update(images).set({ boardId: null }).where(eq(images.boardId, board.boardId));
    await tx.db.delete(boards).where(eq(boards.boardId, board.boardId));
    await recordAudit({
      ctx: tx,
      input: {
        action: 'board.deleted',
        targetType: 'board',
        targetId: board.boardId,
        details: {
          board_name: board.boardName,
          user_id: board.userId,
          delete_images: input.deleteImages,
          images_deleted: names.length,
        },
      },
    });
    return names;
  });
  await deleteImageFiles(ctx, deleted);
}
