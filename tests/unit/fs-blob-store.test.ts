import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../src/images/memory-blob-store.ts';
import { FsBlobStore } from '../../src/node/fs-blob-store.ts';

const root = await mkdtemp(join(tmpdir(), 'easel-blobs-'));
afterAll(() => rm(root, { recursive: true, force: true }));

describe.each([
  ['FsBlobStore', () => new FsBlobStore(root)],
  ['MemoryBlobStore', () => new MemoryBlobStore()],
])('%s', (_name, make) => {
  it('puts, gets, overwrites and deletes; an absent key is null and deleting it is fine', async () => {
    const blobs = make();
    expect(await blobs.get('images/a.png')).toBeNull();
    await blobs.put('images/a.png', new Uint8Array([1, 2, 3]));
    expect(await blobs.get('images/a.png')).toEqual(new Uint8Array([1, 2, 3]));
    await blobs.put('images/a.png', new Uint8Array([4]));
    expect(await blobs.get('images/a.png')).toEqual(new Uint8Array([4]));
    await blobs.delete('images/a.png');
    expect(await blobs.get('images/a.png')).toBeNull();
    await blobs.delete('images/a.png');
  });
});

describe('FsBlobStore on disk', () => {
  it('writes under the root through a temporary file that does not stay behind', async () => {
    const blobs = new FsBlobStore(root);
    await blobs.put('thumbnails/b.webp', new Uint8Array([9]));
    expect(await readdir(join(root, 'thumbnails'))).toEqual(['b.webp']);
  });

  it.each(['../escape.png', '/abs.png', 'images/../x.png', 'images/a b.png', ''])(
    'refuses the key %j',
    async (key) => {
      await expect(new FsBlobStore(root).put(key, new Uint8Array([1]))).rejects.toThrow('invalid blob key');
    },
  );
});
