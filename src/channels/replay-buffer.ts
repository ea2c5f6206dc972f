import { type ChunkPool, copyFrame, sharedChunkPool } from './chunk-pool.ts';

export interface ReplayLimits {
  /** Always keep at least this many of the newest events… */
  minEvents: number;
  /** …and every event younger than this. */
  minAgeMs: number;
  /** Never more than this many, whatever their age (bounds memory under a burst). */
  maxEvents: number;
}

export const DEFAULT_REPLAY_LIMITS: ReplayLimits = {
  minEvents: 1000,
  minAgeMs: 10 * 60_000,
  maxEvents: 10_000,
};

/** Frames are appended to chunks of bytes, 1 KiB for a channel's first, doubling up to 64 KiB. */
const MIN_CHUNK = 1024;
const MAX_CHUNK = 64 * 1024;

/**
 * The events a channel still holds for `Last-Event-ID` replay, oldest first: at least the newest
 * `minEvents` or those younger than `minAgeMs`, at most `maxEvents`. Kept compactly, for the garbage
 * collector's sake: the frames' bytes in a few append-only chunks, and per event only numbers in typed-array
 * rings (chunk, offset, length, time), so a full buffer is a handful of objects rather than one object and
 * one string per event. Chunks come from a `ChunkPool` and go back to it when no held event is in them; the
 * frames handed out are copies (the chunks' bytes change once reused).
 * @example const frame = buffer.push(seq, `id: c-${seq}\n`, body, now); const missed = buffer.after(lastSeq);
 */
export class ReplayBuffer {
  #chunks: Uint8Array[] = [];
  /** The number of `#chunks[0]`; chunks are numbered in the order they were made. */
  #firstChunk = 0;
  /** Bytes used in the newest chunk. */
  #fill = 0;
  #chunkOf = new Uint32Array(0);
  #offset = new Uint32Array(0);
  #length = new Uint32Array(0);
  #at = new Float64Array(0);
  /** Ring slot of the oldest event held, and the seq it has. */
  #head = 0;
  #oldestSeq = 0;
  #size = 0;

  constructor(
    private readonly limits: ReplayLimits = DEFAULT_REPLAY_LIMITS,
    private readonly pool: ChunkPool = sharedChunkPool,
  ) {}

  /**
   * Appends event `seq` (the newest + 1), whose frame is `head` (ASCII: the `id:` line) then `body`, and
   * returns a copy of its frame to send.
   */
  push(seq: number, head: string, body: Uint8Array, now: number): Uint8Array {
    if (this.#size > 0 && seq !== this.#oldestSeq + this.#size) {
      throw new Error(
        `replay events must be numbered in order: ${seq} after ${this.#oldestSeq + this.#size - 1}`,
      );
    }
    const length = head.length + body.length;
    const chunk = this.#room(length);
    const offset = this.#fill;
    for (let i = 0; i < head.length; i++) {
      chunk[offset + i] = head.charCodeAt(i);
    }
    chunk.set(body, offset + head.length);
    this.#fill += length;
    if (this.#size === this.#at.length) {
      this.#grow();
    }
    if (this.#size === 0) {
      this.#oldestSeq = seq;
    }
    const slot = (this.#head + this.#size) % this.#at.length;
    this.#chunkOf[slot] = this.#firstChunk + this.#chunks.length - 1;
    this.#offset[slot] = offset;
    this.#length[slot] = length;
    this.#at[slot] = now;
    this.#size++;
    this.trim(now);
    return copyFrame(chunk.subarray(offset, offset + length));
  }

  /** Drops what the limits no longer require, and the chunks no held event is in. */
  trim(now: number): void {
    const { minEvents, minAgeMs, maxEvents } = this.limits;
    while (
      this.#size > maxEvents ||
      (this.#size > minEvents && now - (this.#at[this.#head] ?? now) > minAgeMs)
    ) {
      this.#head = (this.#head + 1) % this.#at.length;
      this.#oldestSeq++;
      this.#size--;
    }
    const keepFrom =
      this.#size > 0 ? (this.#chunkOf[this.#head] ?? 0) : this.#firstChunk + this.#chunks.length;
    if (keepFrom > this.#firstChunk) {
      for (const chunk of this.#chunks.splice(0, keepFrom - this.#firstChunk)) {
        this.pool.release(chunk);
      }
      this.#firstChunk = keepFrom;
      if (this.#chunks.length === 0) {
        this.#fill = 0;
      }
    }
  }

  /** Gives every chunk back to the pool: the buffer is not used again. */
  dispose(): void {
    for (const chunk of this.#chunks) {
      this.pool.release(chunk);
    }
    this.#firstChunk += this.#chunks.length;
    this.#chunks = [];
    this.#fill = 0;
    this.#size = 0;
  }

  get size(): number {
    return this.#size;
  }

  /** The newest event's number and time. */
  get newest(): { seq: number; at: number } | undefined {
    if (this.#size === 0) {
      return undefined;
    }
    const slot = (this.#head + this.#size - 1) % this.#at.length;
    return { seq: this.#oldestSeq + this.#size - 1, at: this.#at[slot] ?? 0 };
  }

  /**
   * The frames of the events after `seq`, in order; `undefined` when `seq` is not one the buffer can resume
   * from (older than what it holds, or newer than its newest).
   */
  after(seq: number): Uint8Array[] | undefined {
    const newest = this.#oldestSeq + this.#size - 1;
    if (this.#size === 0 || seq < this.#oldestSeq - 1 || seq > newest) {
      return undefined;
    }
    const frames: Uint8Array[] = [];
    for (let s = seq + 1; s <= newest; s++) {
      const slot = (this.#head + (s - this.#oldestSeq)) % this.#at.length;
      const chunk = this.#chunks[(this.#chunkOf[slot] ?? 0) - this.#firstChunk] as Uint8Array;
      const offset = this.#offset[slot] ?? 0;
      frames.push(copyFrame(chunk.subarray(offset, offset + (this.#length[slot] ?? 0))));
    }
    return frames;
  }

  /** The newest chunk with `length` bytes free, made when needed. */
  #room(length: number): Uint8Array {
    const last = this.#chunks.at(-1);
    if (last && this.#fill + length <= last.length) {
      return last;
    }
    const size = Math.max(length, Math.min(MAX_CHUNK, last ? last.length * 2 : MIN_CHUNK));
    const chunk = this.pool.take(size);
    this.#chunks.push(chunk);
    this.#fill = 0;
    return chunk;
  }

  /** Doubles the rings (16 slots at first), oldest event first. */
  #grow(): void {
    const capacity = Math.max(16, this.#at.length * 2);
    const order = Array.from({ length: this.#size }, (_, i) => (this.#head + i) % this.#at.length);
    const copy = <T extends Uint32Array | Float64Array>(from: T, to: T): T => {
      order.forEach((slot, i) => {
        to[i] = from[slot] ?? 0;
      });
      return to;
    };
    this.#chunkOf = copy(this.#chunkOf, new Uint32Array(capacity));
    this.#offset = copy(this.#offset, new Uint32Array(capacity));
    this.#length = copy(this.#length, new Uint32Array(capacity));
    this.#at = copy(this.#at, new Float64Array(capacity));
    this.#head = 0;
  }
}
