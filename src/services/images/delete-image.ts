import { eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { images } from '../../db/schema/index.ts';
import { deleteImageFiles } from '../../images/store.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { imageForActor } from './internal.ts';

/**
 * Deletes an image (owner or admin): the row and its audit entry in one transaction, then its files.
 * @example await deleteImage({ ctx, input: { imageName: 'x.png' } });
 */
export async function deleteImage({ ctx, input }: { ctx: ServiceContext; input: { imageName: string } }) {
  const actor = requireActor(ctx.actor);
  const name = await withTransaction(ctx, async (tx) => {
    const row = await imageForActor(tx.db, actor, input.imageName, true);
    await tx.db.delete(images).where(eq(images.imageName, row.imageName));
    await recordAudit({
      ctx: tx,
      input: {
        action: 'image.deleted',
        targetType: 'image',
        targetId: row.imageName,
        details: { user_id: row.userId, board_id: row.boardId },
      },
    });
    return row.imageName;
  });
  await deleteImageFiles(ctx, [name]);
}
