import { and, eq, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../core/db.ts';
import type { BlobStore } from '../core/images.ts';
import { images, users } from '../db/schema/index.ts';
import { blobKey } from './image-dto.ts';

/**
 * Which of these images `reader` may read (their own, or any for an admin), in one query (the names
 * travel as one JSON parameter).
 * @example const readable = await readableImageNames(db, { userId, isAdmin }, stringsAtKey(body.batch, 'image_name'));
 */
export async function readableImageNames(
  db: DbOrTx,
  reader: { userId: string; isAdmin: boolean },
  names: Set<string>,
): Promise<Set<string>> {
  if (names.size === 0) {
    return new Set();
  }
  const named = sql`${images.imageName} IN (SELECT jsonb_array_elements_text(${JSON.stringify([...names])}::jsonb))`;
  const rows = await db
    .select({ imageName: images.imageName })
    .from(images)
    .where(reader.isAdmin ? named : and(named, eq(images.userId, reader.userId)));
  return new Set(rows.map((r) => r.imageName));
}

/**
 * The stored file (PNG) of an image that `userId` may read as the database says now (their own image, or
 * any while they are an admin), or `null` when there is no such image or file.
 * @example const png = await readableImageFile(ctx.db, ctx.blobs, item.userId, 'a.png');
 */
export async function readableImageFile(
  db: DbOrTx,
  blobs: BlobStore,
  userId: string,
  imageName: string,
): Promise<Uint8Array | null> {
  const [row] = await db
    .select({ imageName: images.imageName })
    .from(images)
    .innerJoin(users, eq(users.userId, userId))
    .where(and(eq(images.imageName, imageName), or(eq(images.userId, users.userId), eq(users.isAdmin, true))))
    .limit(1);
  return row ? blobs.get(blobKey(row.imageName, 'full')) : null;
}
