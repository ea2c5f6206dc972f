/** One numbered event of a channel. */
export interface ChannelEvent {
  seq: number;
  /** The encoded SSE frame, built once and written to every connection. */
  frame: Uint8Array;
  at: number;
}

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

/**
 * The events a channel still holds for `Last-Event-ID` replay, oldest first: at least the newest
 * `minEvents` or those younger than `minAgeMs`, at most `maxEvents`.
 * @example buffer.push(ev); const missed = buffer.after(lastSeq); // undefined: not held any more
 */
export class ReplayBuffer {
  /** Held events from `#head` on; the slots before it are emptied so dropped frames can be collected. */
  #events: (ChannelEvent | undefined)[] = [];
  #head = 0;

  constructor(private readonly limits: ReplayLimits = DEFAULT_REPLAY_LIMITS) {}

  push(event: ChannelEvent, now: number): void {
    this.#events.push(event);
    this.trim(now);
  }

  /** Drops what the limits no longer require. */
  trim(now: number): void {
    const { minEvents, minAgeMs, maxEvents } = this.limits;
    while (
      this.size > maxEvents ||
      (this.size > minEvents && now - (this.#events[this.#head]?.at ?? now) > minAgeMs)
    ) {
      this.#events[this.#head] = undefined;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#events.length) {
      this.#events = this.#events.slice(this.#head);
      this.#head = 0;
    }
  }

  get size(): number {
    return this.#events.length - this.#head;
  }

  get newest(): ChannelEvent | undefined {
    return this.size > 0 ? this.#events[this.#events.length - 1] : undefined;
  }

  /**
   * The events after `seq`, in order; `undefined` when `seq` is not one the buffer can resume from (older
   * than what it holds, or newer than its newest).
   */
  after(seq: number): ChannelEvent[] | undefined {
    const oldest = this.#events[this.#head];
    const newest = this.newest;
    if (!oldest || !newest) {
      return undefined;
    }
    if (seq < oldest.seq - 1 || seq > newest.seq) {
      return undefined;
    }
    return this.#events.slice(this.#head + (seq - oldest.seq + 1)) as ChannelEvent[];
  }
}
