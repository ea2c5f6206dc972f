import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { rowsOf } from '../../src/db/rows.ts';
import { DbBlobStore } from '../../src/images/db-blob-store.ts';
import { databaseTest as test } from '../helpers/fixtures.ts';

/** The file's test API with `store`, a blob store on the file's database. */
const it = test.extend('store', { scope: 'file' }, ({ database }) => new DbBlobStore(database.db));

/** Every byte value, then a megabyte of noise: nothing is text, nothing is lost. */
function sample(): Uint8Array {
  const bytes = new Uint8Array(256 + 1024 * 1024);
  for (let i = 0; i < 256; i++) {
    bytes[i] = i;
  }
  for (let i = 256; i < bytes.length; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(bytes.length, i + 65536)));
  }
  return bytes;
}

describe('DbBlobStore (BLOB_STORE=postgres)', () => {
  it('put then get returns the same bytes, as a Uint8Array', async ({ database, store }) => {
    const bytes = sample();
    await store.put('images/a.png', bytes);
    const got = await store.get('images/a.png');
    expect(got).toBeInstanceOf(Uint8Array);
    expect(got?.byteLength).toBe(bytes.byteLength);
    expect(Buffer.compare(Buffer.from(got as Uint8Array), Buffer.from(bytes))).toBe(0);
    const [row] = rowsOf<{ size: number }>(
      await database.db.execute(sql`SELECT size FROM blobs WHERE key = 'images/a.png'`),
    );
    expect(Number(row?.size)).toBe(bytes.byteLength);
  });

  it('a missing key is null; a second put replaces the bytes; an empty blob is kept as empty', async ({
    store,
  }) => {
    expect(await store.get('images/missing.png')).toBeNull();
    await store.put('thumbnails/b.webp', new Uint8Array([1, 2, 3]));
    await store.put('thumbnails/b.webp', new Uint8Array([9, 8]));
    expect(Array.from((await store.get('thumbnails/b.webp')) ?? [])).toEqual([9, 8]);
    await store.put('thumbnails/empty', new Uint8Array(0));
    expect(Array.from((await store.get('thumbnails/empty')) ?? [7])).toEqual([]);
  });

  it('delete removes the key; deleting an absent key is not an error', async ({ store }) => {
    await store.put('images/c.png', new Uint8Array([5]));
    await store.delete('images/c.png');
    expect(await store.get('images/c.png')).toBeNull();
    await expect(store.delete('images/c.png')).resolves.toBeUndefined();
    await expect(store.delete('images/never.png')).resolves.toBeUndefined();
  });
});
