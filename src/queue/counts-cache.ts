import type { DbOrTx } from '../core/db.ts';
import { current, PgliteGeneration, pgliteClientOf } from '../db/pglite-notify.ts';

/** The channel migration 0011's trigger notifies, in sessions with `easel.notify_queue_changes` on. */
export const QUEUE_CHANGED_CHANNEL = 'easel_queue_changed';
/** The channel migration 0010's trigger notifies on every write to `users`. */
const USERS_CHANGED_CHANNEL = 'easel_users_changed';

/** Reads kept at most, by kind (the oldest goes first): counts, one per (queue, user) that polls its status; pages, up to 200 items each. */
const MAX_ENTRIES = { counts: 1_000, page: 64 } as const;

export type KeptKind = keyof typeof MAX_ENTRIES;

/**
 * Reads over `session_queue` (and the `users` names they join) kept on PGlite until a write to either
 * commits (any statement: an enqueue, a claim, a cancel, a lease renewal, a login). It turns
 * `easel.notify_queue_changes` on in PGlite's one session, so that migration 0011's trigger notifies
 * `QUEUE_CHANGED_CHANNEL`; migration 0010's trigger notifies `easel_users_changed` on every `users` write.
 * PGlite delivers a notification inside the query that commits, before the writer's request answers, so a
 * poll after a write never sees a read from before it. A read in flight while a write commits is not kept
 * (its generation is already gone). Until both `LISTEN`s are confirmed, and always on PostgreSQL (other
 * processes write too), nothing is kept. Kept values are shared by every caller: never change one.
 * @example const counts = await cache.get(`status ${queueId} ${userId}`, () => readCounts());
 */
export class QueueReadCache {
  readonly #queue: PgliteGeneration;
  readonly #users: PgliteGeneration;
  readonly #entries = {
    counts: new Map<string, { generation: number; value: unknown }>(),
    page: new Map<string, { generation: number; value: unknown }>(),
  };

  constructor(db: DbOrTx) {
    this.#queue = new PgliteGeneration(db, QUEUE_CHANGED_CHANNEL, (client) =>
      client.exec(`SET easel.notify_queue_changes = 'on'`),
    );
    this.#users = new PgliteGeneration(db, USERS_CHANGED_CHANNEL);
  }

  /** Settles once values are kept (PGlite listening). */
  get ready(): Promise<void> {
    return Promise.all([this.#queue.ready, this.#users.ready]).then(() => {});
  }

  /** Both generations in one number that only grows (-1 while either is not listening). */
  #generation(): number {
    const queue = this.#queue.value;
    const users = this.#users.value;
    return queue < 0 || users < 0 ? -1 : queue + users;
  }

  /** The value kept for `key` if no write committed since it was read; else `read()`'s, kept. */
  async get<T>(key: string, read: () => Promise<T>, kind: KeptKind = 'counts'): Promise<T> {
    const entries = this.#entries[kind];
    // The generation from before the read: a write committed while it ran makes the value stale at once.
    const generation = this.#generation();
    const kept = entries.get(key);
    if (kept && current(kept.generation, generation)) {
      return kept.value as T;
    }
    const value = await read();
    entries.delete(key);
    if (generation >= 0) {
      if (entries.size >= MAX_ENTRIES[kind]) {
        const oldest = entries.keys().next();
        if (!oldest.done) {
          entries.delete(oldest.value);
        }
      }
      entries.set(key, { generation, value });
    }
    return value;
  }
}

/**
 * One cache per database object (like the outboxes of `core/context.ts`, keyed by the object they serve):
 * a new one over the same PGlite client (tests reuse clients after `DISCARD ALL`, which drops the setting
 * and the `LISTEN`) turns both on again.
 */
const caches = new WeakMap<object, QueueReadCache>();

/**
 * The read cache of the PGlite database behind `db`; undefined on PostgreSQL and inside a transaction
 * (whose reads must see its own writes).
 * @example const cache = queueReadCacheOf(db); return cache ? cache.get(key, read) : read();
 */
export function queueReadCacheOf(db: DbOrTx): QueueReadCache | undefined {
  if (!pgliteClientOf(db)) {
    return undefined;
  }
  let cache = caches.get(db);
  if (!cache) {
    cache = new QueueReadCache(db);
    caches.set(db, cache);
  }
  return cache;
}
