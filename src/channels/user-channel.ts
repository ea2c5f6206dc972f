import { eventIdOf } from './channel-log.ts';
import type { Connection } from './connection.ts';
import { ReplayBuffer, type ReplayLimits } from './replay-buffer.ts';

/**
 * One user's channel (one object per user id, like a Durable Object): it numbers the user's events, keeps
 * them for replay, and writes each to every open connection (tab) of the user. Ids are
 * `<channel nonce>-<seq>`, so an id from another channel or from before a restart is recognised as foreign.
 */
export class UserChannel {
  readonly connections = new Set<Connection>();
  readonly #buffer: ReplayBuffer;
  readonly #nonce = crypto.randomUUID().slice(0, 8);
  #seq = 0;
  /**
   * Logged mode (the channel log feeds the channel): the connections that get live events, each with the
   * last log id it was sent; a connection still replaying from the log is in `connections` but not here.
   */
  readonly #live = new Map<Connection, number>();
  /** Logged mode: the last log id this channel was fed (the head when it started following). */
  delivered = 0;

  constructor(
    readonly key: string,
    limits: ReplayLimits,
  ) {
    this.#buffer = new ReplayBuffer(limits);
  }

  /** Appends an event (its frame after the `id:` line, from `eventBody`) and writes it to every connection. */
  publish(body: Uint8Array, now: number): void {
    this.#seq++;
    const frame = this.#buffer.push(this.#seq, `id: ${this.#nonce}-${this.#seq}\n`, body, now);
    for (const conn of this.connections) {
      conn.write(frame, now);
    }
  }

  /**
   * Adds a connection and, in the same synchronous step, returns what it missed after `lastEventId`:
   * nothing can be published in between, so the replay has no gap and no duplicate. `resync` when the id
   * is not one this channel still holds.
   */
  attach(
    conn: Connection,
    lastEventId: string | undefined,
  ): { replay: Uint8Array[] } | { resync: true } | { fresh: true } {
    this.connections.add(conn);
    if (lastEventId === undefined) {
      return { fresh: true };
    }
    const match = /^([0-9a-f]{8})-(\d{1,15})$/.exec(lastEventId);
    const replay = match && match[1] === this.#nonce ? this.#buffer.after(Number(match[2])) : undefined;
    return replay ? { replay } : { resync: true };
  }

  detach(conn: Connection): void {
    this.connections.delete(conn);
    this.#live.delete(conn);
  }

  /**
   * Logged mode: appends the log's event `id` (the next after `delivered`) with its SSE id
   * `eventIdOf(key, id)`, and writes it to every live connection not yet past it.
   */
  publishLogged(id: number, body: Uint8Array, now: number): void {
    if (id <= this.delivered) {
      return;
    }
    if (this.#buffer.size > 0 && id !== this.delivered + 1) {
      // A gap can only come from a follow restarted further on: the ring starts again from here.
      this.#buffer.dispose();
    }
    this.delivered = id;
    const frame = this.#buffer.push(id, `id: ${eventIdOf(this.key, id)}\n`, body, now);
    for (const [conn, sent] of this.#live) {
      if (id > sent) {
        this.#live.set(conn, id);
        conn.write(frame, now);
      }
    }
  }

  /** Logged mode: a frame without an id (`queue_status`) to every live connection; not kept for replay. */
  broadcast(frame: Uint8Array, now: number): void {
    for (const conn of this.#live.keys()) {
      conn.write(frame, now);
    }
  }

  /** Logged mode: the ring's frames after log id `id`, or undefined when the ring does not hold `id`. */
  framesAfter(id: number): Uint8Array[] | undefined {
    if (id === this.delivered) {
      return [];
    }
    return this.#buffer.after(id);
  }

  /** Logged mode: adds a connection (already in `connections`) to the live ones, sent up to `sent`. */
  goLive(conn: Connection, sent: number): void {
    if (this.connections.has(conn)) {
      this.#live.set(conn, sent);
    }
  }

  /** No connection and nothing a reconnect could still resume from. */
  idle(now: number, windowMs: number): boolean {
    const newest = this.#buffer.newest;
    return this.connections.size === 0 && (!newest || now - newest.at > windowMs);
  }

  trim(now: number): void {
    this.#buffer.trim(now);
  }

  /** Once the hub has dropped the channel: its history's memory goes back for reuse. */
  dispose(): void {
    this.#buffer.dispose();
  }
}
