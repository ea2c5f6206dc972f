import { and, eq } from 'drizzle-orm';
import type { AuthUser } from '../../core/actor.ts';
import type { DbOrTx } from '../../core/db.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { type ImageRow, images, users } from '../../db/schema/index.ts';
import { lockOwnedBoard } from '../../images/store.ts';

/** The names Easel gives images: `<uuid>.png`. Anything else is not found without a lookup. */
const IMAGE_NAME = /^[A-Za-z0-9_-]{1,100}\.png$/;

/** An image by name, or `undefined`; `forUpdate` locks the row until the transaction ends. */
export async function findImage(db: DbOrTx, imageName: string, forUpdate = false) {
  if (!IMAGE_NAME.test(imageName)) {
    return undefined;
  }
  const query = db.select().from(images).where(eq(images.imageName, imageName)).limit(1);
  const [row] = forUpdate ? await query.for('update') : await query;
  return row;
}

/**
 * The image, if its owner's account still exists and is active: a signed URL serves nothing more once its
 * owner was deactivated or deleted (API.md section 6), even before it expires.
 */
export async function findImageOfActiveOwner(db: DbOrTx, imageName: string) {
  if (!IMAGE_NAME.test(imageName)) {
    return undefined;
  }
  const [row] = await db
    .select({ image: images })
    .from(images)
    .innerJoin(users, and(eq(users.userId, images.userId), eq(users.isActive, true)))
    .where(eq(images.imageName, imageName))
    .limit(1);
  return row?.image;
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
