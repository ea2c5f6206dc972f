/**
 * Memory for the replay history, managed for the garbage collector's sake. V8 counts every new
 * `ArrayBuffer` towards starting a major collection, and at 10,000 connections each one stalls the event
 * loop for 100 ms or more (its marking competes for the cores; bench/README.md). A history growing in small
 * chunks started one every few seconds under load. So:
 * - chunks are cut from large arenas (32 MiB by default): V8 sees one allocation per arena, and the
 *   operating system commits an arena's pages only when they are first written;
 * - chunks a channel lets go of are kept, by size, up to `maxFreeBytes`, and given out again first, so a
 *   channel at its bound takes no new memory at all.
 * An arena lives while any chunk cut from it does. A reused chunk's bytes change, so nothing outside the
 * replay buffer may keep a view of one: frames leave as copies (`copyFrame`).
 * @example const chunk = pool.take(65_536); …; pool.release(chunk);
 */
export class ChunkPool {
  readonly #free = new Map<number, Uint8Array[]>();
  #freeBytes = 0;
  #arena: Uint8Array | undefined;
  #arenaFill = 0;
  /** Chunks cut (not reused) since the pool was created. */
  made = 0;
  /** Arenas made since the pool was created. */
  arenas = 0;

  constructor(
    readonly maxFreeBytes = 8 * 1024 * 1024,
    readonly arenaBytes = 32 * 1024 * 1024,
  ) {}

  /** A chunk of exactly `size` bytes (its contents are whatever it held before). */
  take(size: number): Uint8Array {
    const reused = this.#free.get(size)?.pop();
    if (reused) {
      this.#freeBytes -= size;
      return reused;
    }
    this.made++;
    if (size > this.arenaBytes / 4) {
      return new Uint8Array(size); // a frame too large to share an arena
    }
    if (!this.#arena || this.#arenaFill + size > this.#arena.length) {
      this.#arena = new Uint8Array(this.arenaBytes);
      this.#arenaFill = 0;
      this.arenas++;
    }
    const chunk = this.#arena.subarray(this.#arenaFill, this.#arenaFill + size);
    this.#arenaFill += size;
    return chunk;
  }

  /** Gives a chunk back: the caller keeps no view of it. Past `maxFreeBytes` it is left to the collector. */
  release(chunk: Uint8Array): void {
    if (this.#freeBytes + chunk.length > this.maxFreeBytes) {
      return;
    }
    this.#freeBytes += chunk.length;
    const free = this.#free.get(chunk.length);
    if (free) {
      free.push(chunk);
    } else {
      this.#free.set(chunk.length, [chunk]);
    }
  }

  get freeBytes(): number {
    return this.#freeBytes;
  }
}

/** The pool every replay buffer of the process shares unless given another. */
export const sharedChunkPool = new ChunkPool();

/**
 * Copies are cut from 8 KiB slabs that are never reused: a frame handed to a connection may wait in a
 * socket until its client reads it, and must keep its bytes; a slab is collected young once its frames are
 * sent, like the pooled `Buffer`s of Node's own writes.
 */
const SLAB_BYTES = 8 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabFill = 0;

/** A copy of `bytes` that nothing else will ever write to. */
export function copyFrame(bytes: Uint8Array): Uint8Array {
  if (bytes.length > SLAB_BYTES / 2) {
    return bytes.slice();
  }
  if (slabFill + bytes.length > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabFill = 0;
  }
  const copy = slab.subarray(slabFill, slabFill + bytes.length);
  copy.set(bytes);
  slabFill += bytes.length;
  return copy;
}
