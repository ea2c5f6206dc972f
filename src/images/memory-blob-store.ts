import type { BlobStore } from '../core/images.ts';

/**
 * A blob store in memory, for tests and the Deno entry (whose images do not outlive the process).
 * @example const blobs = new MemoryBlobStore(); await blobs.put('images/a.png', bytes);
 */
export class MemoryBlobStore implements BlobStore {
  readonly #blobs = new Map<string, Uint8Array>();

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.#blobs.set(key, bytes.slice());
  }

  async get(key: string): Promise<Uint8Array | null> {
    return this.#blobs.get(key)?.slice() ?? null;
  }

  async delete(key: string): Promise<void> {
    this.#blobs.delete(key);
  }

  /** The keys held, sorted (for tests). */
  keys(): string[] {
    return [...this.#blobs.keys()].sort();
  }
}
