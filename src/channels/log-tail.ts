import type { DbOrTx } from '../core/db.ts';
import type { Notifier } from '../core/notifier.ts';
import {
  CHANNEL_NOTIFY,
  type ChannelNotice,
  type LoggedEvent,
  type PreviewImage,
  readEvents,
} from './channel-log.ts';

export interface LogTailerOptions {
  db: DbOrTx;
  notifier: Notifier;
  /** Receives each followed channel's new events, in id order, each exactly once. */
  onEvents: (userId: string, events: LoggedEvent[]) => void;
  /** A read failed (it is retried on the next notification or safety-net round). */
  onError?: (error: unknown) => void;
  /** How often every followed channel is read even without a notification (0: never). */
  pollIntervalMs?: number;
  /** Rows per read. */
  batchSize?: number;
}

interface Follow {
  cursor: number;
  /** The read loop in flight, if any; `again` asks it for one more round. */
  running: Promise<void> | undefined;
  again: boolean;
}

/** Previews that arrived before their rows were read, by `userId:id`; kept this many at most. */
const MAX_PENDING_PREVIEWS = 1000;

/**
 * Turns channel-log notifications into ordered events per channel, for one process's streams. It follows
 * the channels it is told to (the users with a channel in this process), from a given id; on each
 * notification naming a followed channel beyond what it delivered, on every (re)listen, and every
 * `pollIntervalMs` as a safety net, it reads that channel's rows after the last id it delivered and hands
 * them on. One read loop per channel at a time, and the cursor moves only there, so nothing is delivered
 * twice or out of order; since a channel's ids commit in order (see `appendEvents`), a read after id N never
 * misses a row that commits later with a smaller id, so nothing is skipped.
 * Previews from a notification are attached to their `invocation_progress` rows when those are read for
 * that notification; a row read otherwise (safety net, catch-up) keeps `image: null`.
 * @example const tail = new LogTailer({ db, notifier, onEvents: (u, es) => hub.deliver(u, es) }); await tail.start(); tail.follow(userId, await channelHead(db, userId));
 */
export class LogTailer {
  readonly #follows = new Map<string, Follow>();
  readonly #previews = new Map<string, PreviewImage>();
  #stop: (() => Promise<void>) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(private readonly opts: LogTailerOptions) {}

  /** Starts listening (resolves once it listens) and the safety-net timer. */
  async start(): Promise<void> {
    this.#stop = await this.opts.notifier.listen(
      CHANNEL_NOTIFY,
      (payload) => this.#onNotice(payload),
      () => void this.catchUp(),
    );
    const every = this.opts.pollIntervalMs ?? 5000;
    if (every > 0) {
      this.#timer = setInterval(() => void this.catchUp(), every);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#follows.clear();
    await this.#stop?.();
  }

  /** Delivers the channel's events after `afterId` from now on (again from `afterId` if already followed). */
  follow(userId: string, afterId: number): void {
    this.#follows.set(userId, { cursor: afterId, running: undefined, again: false });
    void this.#pump(userId);
  }

  unfollow(userId: string): void {
    this.#follows.delete(userId);
  }

  /** The last id delivered for a channel (undefined when not followed). */
  cursor(userId: string): number | undefined {
    return this.#follows.get(userId)?.cursor;
  }

  /** Reads every followed channel now; resolves when those reads (and any they chain) are done. */
  async catchUp(): Promise<void> {
    await Promise.all([...this.#follows.keys()].map((u) => this.#pump(u)));
  }

  #onNotice(payload: string): void {
    let notice: ChannelNotice;
    try {
      notice = JSON.parse(payload) as ChannelNotice;
    } catch (error) {
      this.opts.onError?.(error);
      return;
    }
    for (const preview of notice.p ?? []) {
      for (const [userId, id] of preview.at) {
        const follow = this.#follows.get(userId);
        if (follow && id > follow.cursor && this.#previews.size < MAX_PENDING_PREVIEWS) {
          this.#previews.set(`${userId}:${id}`, preview.image);
        }
      }
    }
    for (const [userId, lastId] of notice.c ?? []) {
      const follow = this.#follows.get(userId);
      if (follow && lastId > follow.cursor) {
        void this.#pump(userId);
      }
    }
  }

  #pump(userId: string): Promise<void> {
    const follow = this.#follows.get(userId);
    if (!follow || this.#stopped) {
      return Promise.resolve();
    }
    if (follow.running) {
      follow.again = true;
      return follow.running;
    }
    const run = this.#readLoop(userId, follow).finally(() => {
      follow.running = undefined;
    });
    follow.running = run;
    return run;
  }

  async #readLoop(userId: string, follow: Follow): Promise<void> {
    const batch = this.opts.batchSize ?? 500;
    do {
      follow.again = false;
      for (;;) {
        let events: LoggedEvent[];
        try {
          events = await readEvents(this.opts.db, userId, follow.cursor, batch);
        } catch (error) {
          this.opts.onError?.(error);
          return;
        }
        if (this.#follows.get(userId) !== follow || this.#stopped || events.length === 0) {
          break;
        }
        follow.cursor = events[events.length - 1]?.id ?? follow.cursor;
        for (const event of events) {
          const key = `${userId}:${event.id}`;
          const image = this.#previews.get(key);
          if (image) {
            this.#previews.delete(key);
            event.data = { ...event.data, image };
          }
        }
        this.#dropStalePreviews(userId, follow.cursor);
        this.opts.onEvents(userId, events);
        if (events.length < batch) {
          break;
        }
      }
    } while (follow.again && this.#follows.get(userId) === follow && !this.#stopped);
  }

  #dropStalePreviews(userId: string, cursor: number): void {
    if (this.#previews.size === 0) {
      return;
    }
    const prefix = `${userId}:`;
    for (const key of this.#previews.keys()) {
      if (key.startsWith(prefix) && Number(key.slice(prefix.length)) <= cursor) {
        this.#previews.delete(key);
      }
    }
  }
}
