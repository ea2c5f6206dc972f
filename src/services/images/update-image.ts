import { eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { images } from '../../db/schema/index.ts';
import { toImageDto } from '../../images/image-dto.ts';
import { UpdateImageInput } from '../../images/schemas.ts';
import { assertOwnedBoard, imageForActor } from './internal.ts';

/**
 * Moves an image to a board (`board_id`, or `null` for uncategorized) and/or stars it (owner or admin). The
 * board must belong to the image's owner, else 422 at `board_id`: boards never mix owners.
 * @example await updateImage({ ctx, input: { imageName, patch: { starred: true } } });
 */
export async function updateImage({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { imageName: string; patch: UpdateImageInput };
}) {
  const actor = requireActor(ctx.actor);
  const patch = UpdateImageInput.parse(input.patch);
  const row = await withTransaction(ctx, async (tx) => {
    const image = await imageForActor(tx.db, actor, input.imageName, true);
    if (typeof patch.board_id === 'string') {
      await assertOwnedBoard(tx.db, patch.board_id, image.userId, 'board_id');
    }
    const [updated] = await tx.db
      .update(images)
      .set({ boardId: patch.board_id, starred: patch.starred })
      .where(eq(images.imageName, image.imageName))
      .returning();
    return updated ?? image;
  });
  return toImageDto(ctx, row);
}
