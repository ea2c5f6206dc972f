import { and, eq } from 'drizzle-orm';
import { type ServiceContext, withTransaction } from '../core/context.ts';
import type { DbOrTx } from '../core/db.ts';
import { boards, type ImageRow, images } from '../db/schema/index.ts';
import { blobKey } from './image-dto.ts';
import { THUMBNAIL_SIZE } from './schemas.ts';

export interface NewImage {
  png: Uint8Array;
  /** The WebP thumbnail when the caller made it already; otherwise it is made from `png`. */
  thumbnail?: Uint8Array;
  width: number;
  height: number;
  userId: string;
  boardId: string | null;
  queueItemId: number | null;
  sessionId: string | null;
  nodeId: string | null;
  isIntermediate: boolean;
  metadata: Record<string, unknown> | null;
  /**
   * What to do when `boardId` is not a board of `userId` (deleted meanwhile, or someone else's): store the
   * image uncategorized, or throw the returned error (after removing the files).
   */
  onUnknownBoard: 'uncategorize' | (() => Error);
  /** Told the milliseconds of each step: `files` (both written), then `row` (its transaction). */
  onTimed?: (step: 'files' | 'row', ms: number) => void;
}

/**
 * Writes a new image: its PNG and thumbnail first, then its row, so a crash never leaves a row without a
 * file (at worst, files without a row). The board is checked and locked in the row's transaction.
 */
export async function storeImage(ctx: ServiceContext, image: NewImage): Promise<ImageRow> {
  const imageName = `${crypto.randomUUID()}.png`;
  const thumbnail = image.thumbnail ?? (await ctx.images.thumbnail(image.png, THUMBNAIL_SIZE));
  const writing = performance.now();
  await Promise.all([
    ctx.blobs.put(blobKey(imageName, 'full'), image.png),
    ctx.blobs.put(blobKey(imageName, 'thumbnail'), thumbnail),
  ]);
  const recording = performance.now();
  image.onTimed?.('files', recording - writing);
  try {
    const stored = await withTransaction(ctx, async (tx) => {
      let boardId = image.boardId;
      if (boardId !== null && !(await lockOwnedBoard(tx.db, boardId, image.userId))) {
        if (image.onUnknownBoard !== 'uncategorize') {
          throw image.onUnknownBoard();
        }
        boardId = null;
      }
      const [row] = await tx.db
        .insert(images)
        .values({
          imageName,
          userId: image.userId,
          boardId,
          queueItemId: image.queueItemId,
          sessionId: image.sessionId,
          nodeId: image.nodeId,
          width: image.width,
          height: image.height,
          isIntermediate: image.isIntermediate,
          metadata: image.metadata,
          createdAt: tx.clock.now(),
        })
        .returning();
      if (!row) {
        throw new Error('image insert returned no row');
      }
      return row;
    });
    image.onTimed?.('row', performance.now() - recording);
    return stored;
  } catch (err) {
    await deleteImageFiles(ctx, [imageName]);
    throw err;
  }
}

/** Removes both files of each image; after the rows are gone, so no row ever lacks its file. */
export async function deleteImageFiles(ctx: ServiceContext, names: string[]): Promise<void> {
  for (const name of names) {
    await ctx.blobs.delete(blobKey(name, 'full'));
    await ctx.blobs.delete(blobKey(name, 'thumbnail'));
  }
}

/**
 * Whether `boardId` is a board of `ownerId`, locking it (FOR SHARE) so it cannot be deleted before the
 * caller's transaction ends.
 */
export async function lockOwnedBoard(tx: DbOrTx, boardId: string, ownerId: string): Promise<boolean> {
  const rows = await tx
    .select({ boardId: boards.boardId })
    .from(boards)
    .where(and(eq(boards.boardId, boardId), eq(boards.userId, ownerId)))
    .for('share');
  return rows.length > 0;
}
