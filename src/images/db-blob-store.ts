import { eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../core/db.ts';
import type { BlobStore } from '../core/images.ts';
import { blobs } from '../db/schema/index.ts';

/**
 * Blobs as rows of the `blobs` table (`BLOB_STORE=postgres`), on either driver: every process sharing the
 * database sees the same images. A put is one statement (an upsert), so it is whole or absent.
 * @example const store = new DbBlobStore(database.db); await store.put('images/a.png', png);
 */
export class DbBlobStore implements BlobStore {
  constructor(private readonly db: DbOrTx) {}

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.db
      .insert(blobs)
      .values({ key, bytes, size: bytes.byteLength })
      .onConflictDoUpdate({
        target: blobs.key,
        set: { bytes, size: bytes.byteLength, updatedAt: sql`now()` },
      });
  }

  async get(key: string): Promise<Uint8Array | null> {
    const [row] = await this.db.select({ bytes: blobs.bytes }).from(blobs).where(eq(blobs.key, key)).limit(1);
    return row ? row.bytes : null;
  }

  async delete(key: string): Promise<void> {
    await this.db.delete(blobs).where(eq(blobs.key, key));
  }
}
