import type { DbOrTx } from '../core/db.ts';
import { current, PgliteGeneration, pgliteClientOf } from '../db/pglite-notify.ts';

/** The channel migration 0011's trigger notifies, in sessions with `easel.notify_queue_changes` on. */
export const QUEUE_CHANGED_CHANNEL = 'easel_queue_changed';

/** Reads kept at most (the oldest goes first): one per (queue, user) that polls its status. */
const MAX_ENTRIES = 1_000;

/**
 * Reads over `session_queue` kept on PGlite until a write to it commits (any statement: an enqueue, a claim,
 * a cancel, a lease renewal). It turns `easel.notify_queue_changes` on in PGlite's one session, so that
 * migration 0011's trigger notifies `QUEUE_CHANGED_CHANNEL`; PGlite delivers that notification inside the
 * query that commits, before the writer's request answers, so a poll after a write never sees counts from
 * before it. A read in flight while a write commits is not kept (its generation is already gone). Until the
 * `LISTEN` is confirmed, and always on PostgreSQL (other processes write too), nothing is kept.
 * @example const counts = await cache.get(`status ${queueId} ${userId}`, () => readCounts());
 */
export class QueueReadCache {
  readonly #generation: PgliteGeneration;
  readonly #entries = new Map<string, { generation: number; value: unknown }>();

  constructor(db: DbOrTx) {
    this.#generation = new PgliteGeneration(db, QUEUE_CHANGED_CHANNEL, (client) =>
      client.exec(`SET easel.notify_queue_changes = 'on'`),
    );
  }

  /** Settles once values are kept (PGlite listening). */
  get ready(): Promise<void> {
    return this.#generation.ready;
  }

  /** The value kept for `key` if no write committed since it was read; else `read()`'s, kept. */
  async get<T>(key: string, read: () => Promise<T>): Promise<T> {
    // The generation from before the read: a write committed while it ran makes the value stale at once.
    const generation = this.#generation.value;
    const kept = this.#entries.get(key);
    if (kept && current(kept.generation, generation)) {
      return kept.value as T;
    }
    const value = await read();
    this.#entries.delete(key);
    if (generation >= 0) {
      if (this.#entries.size >= MAX_ENTRIES) {
        const oldest = this.#entries.keys().next();
        if (!oldest.done) {
          this.#entries.delete(oldest.value);
        }
      }
      this.#entries.set(key, { generation, value });
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
