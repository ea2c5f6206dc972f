import { and, eq } from 'drizzle-orm';
import type { AuthUser } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import type { DbOrTx } from '../../core/db.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../core/errors.ts';
import type { ImageVariant } from '../../core/images.ts';
import { boards, type ImageRow, images } from '../../db/schema/index.ts';
import { signedImageUrl, signedUrlExpiry } from '../../images/url-signer.ts';
import type { ImageDTO } from './schemas.ts';

/** The names Easel gives images: `<uuid>.png`. Anything else is not found without a lookup. */
const IMAGE_NAME = /^[A-Za-z0-9_-]{1,100}\.png$/;

/** Where an image's files live in the blob store. */
export function blobKey(imageName: string, variant: ImageVariant): string {
  return variant === 'full' ? `images/${imageName}` : `thumbnails/${imageName.replace(/\.png$/, '.webp')}`;
}

/** Removes both files of each image; after the rows are gone, so no row ever lacks its file. */
export async function deleteImageFiles(ctx: ServiceContext, names: string[]): Promise<void> {
  for (const name of names) {
    await ctx.blobs.delete(blobKey(name, 'full'));
    await ctx.blobs.delete(blobKey(name, 'thumbnail'));
  }
}

/** An image row as the API shows it, with freshly signed URLs. */
export async function toImageDto(ctx: ServiceContext, row: ImageRow): Promise<ImageDTO> {
  const exp = signedUrlExpiry(ctx.clock.now());
  return {
    image_name: row.imageName,
    image_url: await signedImageUrl(ctx.urlSigner, row.imageName, 'full', exp),
    thumbnail_url: await signedImageUrl(ctx.urlSigner, row.imageName, 'thumbnail', exp),
    width: row.width,
    height: row.height,
    board_id: row.boardId,
    user_id: row.userId,
    queue_item_id: row.queueItemId,
    session_id: row.sessionId,
    node_id: row.nodeId,
    is_intermediate: row.isIntermediate,
    starred: row.starred,
    metadata: row.metadata,
    created_at: row.createdAt.toISOString(),
  };
}

/** An image by name, or `undefined`; `forUpdate` locks the row until the transaction ends. */
export async function findImage(db: DbOrTx, imageName: string, forUpdate = false) {
  if (!IMAGE_NAME.test(imageName)) {
    return undefined;
  }
  const query = db.select().from(images).where(eq(images.imageName, imageName)).limit(1);
  const [row] = forUpdate ? await query.for('update') : await query;
  return row;
}

/** An image the actor may see and change: their own, or any for an admin; otherwise 404, never 403. */
export async function imageForActor(
  db: DbOrTx,
  actor: AuthUser,
  imageName: string,
  forUpdate = false,
): Promise<ImageRow> {
  const row = await findImage(db, imageName, forUpdate);
  if (!row || (!actor.isAdmin && row.userId !== actor.userId)) {
    throw new NotFoundError('Image', imageName);
  }
  return row;
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

/** 422 at `path` unless the board is the owner's (a board of someone else reads as unknown). */
export async function assertOwnedBoard(tx: DbOrTx, boardId: string, ownerId: string, path: string) {
  if (!(await lockOwnedBoard(tx, boardId, ownerId))) {
    throw new ValidationError([{ path, message: `unknown board "${boardId}"` }]);
  }
}

/** Whose rows a list shows: the actor's own; an admin may name any user, or `all` for everyone's. */
export function listOwner(actor: AuthUser, requested: string | undefined): string | null {
  if (requested === undefined || requested === actor.userId) {
    return actor.userId;
  }
  if (!actor.isAdmin) {
    throw new ForbiddenError("Only admins may list another user's images and boards.");
  }
  return requested === 'all' ? null : requested;
}
