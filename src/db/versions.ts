import { type SQL, sql } from 'drizzle-orm';
import type { DbOrTx } from '../core/db.ts';
import { queryPrepared } from './prepared.ts';
import { rowsOf } from './rows.ts';

/**
 * The row a statement reads from `auth_version` (its one row, `id = 1`, inserted by migration 0007).
 * @example const row = await versionRow<{ version: string }>(db, sql`SELECT version::text … WHERE id = 1`);
 */
export async function versionRow<T>(db: DbOrTx, query: SQL): Promise<T> {
  const [row] = rowsOf<T>(await queryPrepared(db, query));
  if (!row) {
    throw new Error('auth_version has no row (migration 0007 not applied)');
  }
  return row;
}

/**
 * What the database's triggers count, each as text (bigints): `version` grows with every revocation
 * (migration 0007), `usersVersion` with every write to `users` (0010), `readsVersion` with every
 * transaction that writes the queue, the images or the queue's state (the sum of 0013's slots).
 */
export interface Versions {
  version: string;
  usersVersion: string;
  readsVersion: string;
}

async function readVersions(db: DbOrTx): Promise<Versions> {
  const row = await versionRow<{ version: string; users_version: string; reads_version: string }>(
    db,
    sql`SELECT version::text AS version, users_version::text AS users_version,
        (SELECT sum(r.version) FROM reads_version r)::text AS reads_version
      FROM auth_version WHERE id = 1`,
  );
  return { version: row.version, usersVersion: row.users_version, readsVersion: row.reads_version };
}

const ignore = () => {};

/**
 * The database's versions as read by a query sent after the caller asked: what lets a process use a value
 * it keeps in memory without missing a write committed on any process before the request came
 * (docs/adr/0008-identity-cache-with-a-database-version.md, 3). Reads are coalesced: at most one is in
 * flight, and callers that ask while it runs share the next one (the one in flight may have taken its
 * snapshot before they asked), so any number of concurrent requests cost one prepared single-row read per
 * round trip.
 * @example const { readsVersion } = await databaseVersionsOf(db).current();
 */
export class DatabaseVersions {
  #inFlight: Promise<Versions> | undefined;
  #next: Promise<Versions> | undefined;

  /** `db`: the database itself, never a transaction. */
  constructor(private readonly db: DbOrTx) {}

  /** The versions as read by a query sent after this call: the one queued behind a read in flight. */
  current(): Promise<Versions> {
    if (this.#next) {
      return this.#next;
    }
    const inFlight = this.#inFlight;
    if (!inFlight) {
      return this.#read();
    }
    this.#next = inFlight.then(ignore, ignore).then(() => {
      this.#next = undefined;
      return this.#read();
    });
    return this.#next;
  }

  #read(): Promise<Versions> {
    const read: Promise<Versions> = readVersions(this.db).finally(() => {
      if (this.#inFlight === read) {
        this.#inFlight = undefined;
      }
    });
    this.#inFlight = read;
    return read;
  }
}

/** One reader per database object, so that the token checks and the kept reads share their reads. */
const readers = new WeakMap<object, DatabaseVersions>();

/**
 * The shared `DatabaseVersions` of `db` (the database itself, never a transaction).
 * @example const versions = databaseVersionsOf(database.db);
 */
export function databaseVersionsOf(db: DbOrTx): DatabaseVersions {
  let reader = readers.get(db);
  if (!reader) {
    reader = new DatabaseVersions(db);
    readers.set(db, reader);
  }
  return reader;
}
