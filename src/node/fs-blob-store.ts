import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BlobStore } from '../core/images.ts';

/** Keys are relative paths of plain names: no `..`, no leading slash, no odd characters. */
const KEY = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

function pathOf(root: string, key: string): string {
  if (!KEY.test(key)) {
    throw new Error(`invalid blob key "${key}"`);
  }
  return join(root, key);
}

/**
 * Blobs as files under a folder (`DATA_DIR`): `images/<name>`, `thumbnails/<name>`. A put writes a temporary
 * file next to the target and renames it over, so a crash never leaves half a file under the real name.
 * @example const blobs = new FsBlobStore(env.DATA_DIR);
 */
export class FsBlobStore implements BlobStore {
  constructor(readonly root: string) {}

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = pathOf(this.root, key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${crypto.randomUUID()}.tmp`;
    try {
      await writeFile(temp, bytes, { flush: true });
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const buffer = await readFile(pathOf(this.root, key));
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return null;
      }
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(pathOf(this.root, key), { force: true });
  }
}
