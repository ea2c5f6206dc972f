import type { DbOrTx } from '../core/db.ts';
import { PgliteGeneration, pgliteClientOf } from '../db/pglite-notify.ts';
import { type DatabaseVersions, databaseVersionsOf } from '../db/versions.ts';

/** The channel migration 0011's trigger notifies, in sessions with `easel.notify_queue_changes` on. */
export const QUEUE_CHANGED_CHANNEL = 'easel_queue_changed';
/** The channel migration 0010's trigger notifies on every write to `users`. */
const USERS_CHANGED_CHANNEL = 'easel_users_changed';

/**
 * Reads kept at most, by kind (the oldest goes first): counts, one per (queue, user) that polls its status
 * (and the pause flag); pages, up to 200 items each; items, one row each (`GET …/i/{item_id}`); whole lists,
 * `list_all` bodies of at most 2 MiB each (`listAllItemsJson`).
 */
const MAX_ENTRIES = { counts: 1_000, page: 64, item: 1_000, all: 8 } as const;

export type KeptKind = keyof typeof MAX_ENTRIES;

/**
 * Reads over `session_queue`, `images` and `queue_state` (and the `users` names they join) kept until a
 * write to any of them commits (any statement: an enqueue, a claim, a cancel, a lease renewal, a pause, a
 * login), on either database (docs/adr/0008-identity-cache-with-a-database-version.md, 6 and 7).
 *
 * On PostgreSQL (several processes may write) a kept value is used after a read of the database's versions
 * *sent after the call* (`DatabaseVersions`, shared with the token checks) finds the two it was kept at
 * unchanged: migration 0013's slots (every transaction that writes the queue, the images or the queue's
 * state) and migration 0010's `users_version`. A value is kept with the versions read before its read
 * began, so a write that commits while it runs makes it stale at once.
 *
 * On PGlite (the database of this one process) nothing is read: it turns `easel.notify_queue_changes` on
 * in PGlite's one session, so that the same trigger notifies `QUEUE_CHANGED_CHANNEL` instead, and migration
 * 0010's trigger notifies `easel_users_changed` on every `users` write. PGlite delivers a notification inside
 * the query that commits, before the writer's request answers, so a poll after a write never sees a read
 * from before it. Until both `LISTEN`s are confirmed nothing is kept there.
 *
 * Kept values are shared by every caller: never change one.
 * @example const counts = await cache.get(`status ${queueId} ${userId}`, () => readCounts());
 */
export class QueueReadCache {
  readonly #queue: PgliteGeneration;
  readonly #users: PgliteGeneration;
  readonly #versions: DatabaseVersions | undefined;
  readonly #entries = {
    counts: new Map<string, { stamp: string; value: unknown }>(),
    page: new Map<string, { stamp: string; value: unknown }>(),
    item: new Map<string, { stamp: string; value: unknown }>(),
    all: new Map<string, { stamp: string; value: unknown }>(),
  };

  /** `db`: the database itself, never a transaction (whose reads must see its own writes). */
  constructor(db: DbOrTx) {
    this.#queue = new PgliteGeneration(db, QUEUE_CHANGED_CHANNEL, (client) =>
      client.exec(`SET easel.notify_queue_changes = 'on'`),
    );
    this.#users = new PgliteGeneration(db, USERS_CHANGED_CHANNEL);
    this.#versions = pgliteClientOf(db) ? undefined : databaseVersionsOf(db);
  }

  /** Settles once values are kept (at once on PostgreSQL; on PGlite once it listens). */
  get ready(): Promise<void> {
    return Promise.all([this.#queue.ready, this.#users.ready]).then(() => {});
  }

  /** What a value is kept with: the versions now on PostgreSQL, both generations on PGlite (none while -1). */
  async #stamp(): Promise<string | undefined> {
    if (this.#versions) {
      const { readsVersion, usersVersion } = await this.#versions.current();
      return `${readsVersion} ${usersVersion}`;
    }
    const queue = this.#queue.value;
    const users = this.#users.value;
    return queue < 0 || users < 0 ? undefined : `${queue} ${users}`;
  }

  /** The value kept for `key` if no write committed since it was read; else `read()`'s, kept if `keep` says so. */
  async get<T>(
    key: string,
    read: () => Promise<T>,
    kind: KeptKind = 'counts',
    keep: (value: T) => boolean = () => true,
  ): Promise<T> {
    const entries = this.#entries[kind];
    // The stamp from before the read: a write committed while it runs makes the value stale at once.
    const stamp = await this.#stamp();
    const kept = entries.get(key);
    if (kept && stamp !== undefined && kept.stamp === stamp) {
      return kept.value as T;
    }
    const value = await read();
    entries.delete(key);
    if (stamp !== undefined && keep(value)) {
      if (entries.size >= MAX_ENTRIES[kind]) {
        const oldest = entries.keys().next();
        if (!oldest.done) {
          entries.delete(oldest.value);
        }
      }
      entries.set(key, { stamp, value });
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
 * The read cache of the database `db`; undefined inside a transaction (whose reads must see its own
 * writes).
 * @example const cache = queueReadCacheOf(db); return cache ? cache.get(key, read) : read();
 */
export function queueReadCacheOf(db: DbOrTx): QueueReadCache | undefined {
  // Drizzle sets `$client` on the database object only, never on a transaction.
  if ((db as { $client?: unknown }).$client === undefined) {
    return undefined;
  }
  let cache = caches.get(db);
  if (!cache) {
    cache = new QueueReadCache(db);
    caches.set(db, cache);
  }
  return cache;
}
