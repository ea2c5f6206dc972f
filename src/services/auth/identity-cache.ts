import { sql } from 'drizzle-orm';
import type { AccountState, IdentityCheck } from '../../core/auth.ts';
import type { DbOrTx } from '../../core/db.ts';
import { pgliteClientOf } from '../../db/pglite-notify.ts';
import { queryPrepared } from '../../db/prepared.ts';
import { rowsOf } from '../../db/rows.ts';

interface StateRow {
  version: string;
  user_id: string | null;
  email: string | null;
  is_admin: boolean | null;
  is_active: boolean | null;
  epoch: number | null;
  revoked: boolean;
}

/**
 * One prepared statement, one round trip, one snapshot: the account of `userId`, whether login session
 * `sid` was logged out, and the `auth_version` they were read at.
 * @example const { version, state } = await readAccountState(db, claims.sub, sessionOf(claims));
 */
export async function readAccountState(
  db: DbOrTx,
  userId: string,
  sid: string,
): Promise<{ version: string; state: AccountState | undefined }> {
  const [row] = rowsOf<StateRow>(
    await queryPrepared(
      db,
      sql`SELECT v.version::text AS version, u.user_id, u.email, u.is_admin, u.is_active, u.epoch,
        EXISTS (SELECT 1 FROM revoked_sessions r WHERE r.sid = ${sid}) AS revoked
      FROM auth_version v LEFT JOIN users u ON u.user_id = ${userId}
      WHERE v.id = 1`,
    ),
  );
  if (!row) {
    throw new Error('auth_version has no row (migration 0007 not applied)');
  }
  const state: AccountState | undefined =
    row.user_id === null
      ? undefined
      : {
          userId: row.user_id,
          email: row.email as string,
          isAdmin: row.is_admin === true,
          isActive: row.is_active === true,
          epoch: Number(row.epoch),
          sessionRevoked: row.revoked,
        };
  return { version: row.version, state };
}

async function readAuthVersion(db: DbOrTx): Promise<string> {
  const [row] = rowsOf<{ version: string }>(
    await queryPrepared(db, sql`SELECT version::text AS version FROM auth_version WHERE id = 1`),
  );
  if (!row) {
    throw new Error('auth_version has no row (migration 0007 not applied)');
  }
  return row.version;
}

const ignore = () => {};

/** The channel migration 0009's `auth_version_bump` notifies, in the transaction that bumps the version. */
export const AUTH_VERSION_CHANNEL = 'easel_auth_version';

/**
 * Token checks without reading the account on every request, and without ever trusting memory past a
 * revocation (API.md section 2, docs/adr/0008-identity-cache-with-a-database-version.md). Each entry holds
 * the account state of one (user, login session) and the `auth_version` it was read at; triggers bump that
 * version in every transaction that revokes. A cached entry is used only after a read of the version that
 * *started after the lookup was called* finds it unchanged, so any revocation committed before the request
 * (on any process) is seen. Concurrent lookups share that read: at most one is in flight, and callers that
 * arrive while it runs wait for the next one, so under load the check costs one tiny query per batch of
 * requests instead of one per request.
 *
 * On PGlite (the database of this one process) the version is not read: the bump's notification
 * (`AUTH_VERSION_CHANNEL`, migration 0009) reaches this process inside the query that commits it, before
 * that query returns to its caller, and counts a local generation up; an entry is used while the
 * generation it was read in is current. PGlite ran a version read per request (its queries do not
 * overlap, so nothing was shared), half the database work of `GET /auth/me` (issue 15). Until PGlite
 * confirms the `LISTEN`, the version is read as on PostgreSQL.
 * @example const identities = new IdentityCache(database.db); const state = await identities.lookup(sub, sid);
 */
export class IdentityCache implements IdentityCheck {
  readonly #entries = new Map<string, { version: string; generation: number; state: AccountState }>();
  #inFlight: Promise<string> | undefined;
  #next: Promise<string> | undefined;
  /** Counts the commits that bumped the version (PGlite); -1 while they are not known. */
  #generation = -1;

  /** `db`: the database itself (never a transaction); `maxEntries`: oldest entries beyond it are dropped. */
  constructor(
    private readonly db: DbOrTx,
    private readonly maxEntries = 10_000,
  ) {
    const pglite = pgliteClientOf(db);
    if (pglite) {
      pglite
        .listen(AUTH_VERSION_CHANNEL, () => {
          this.#generation++;
        })
        .then(() => {
          // Entries read before now carry -1 and are read again.
          this.#generation = 0;
        }, ignore);
    }
  }

  async lookup(userId: string, sid: string): Promise<AccountState | undefined> {
    const key = `${userId} ${sid}`;
    const entry = this.#entries.get(key);
    const generation = this.#generation;
    if (entry) {
      if (
        generation >= 0 ? entry.generation === generation : (await this.#currentVersion()) === entry.version
      ) {
        return entry.state;
      }
    }
    const { version, state } = await readAccountState(this.db, userId, sid);
    this.#entries.delete(key);
    if (state) {
      if (this.#entries.size >= this.maxEntries) {
        const oldest = this.#entries.keys().next();
        if (!oldest.done) {
          this.#entries.delete(oldest.value);
        }
      }
      // The generation from before the read: a bump committed while it ran makes the entry stale at once.
      this.#entries.set(key, { version, generation: generation >= 0 ? generation : -1, state });
    }
    return state;
  }

  /** How many (user, login session) pairs are cached. */
  get size(): number {
    return this.#entries.size;
  }

  /** The version as read by a query sent after this call: the one queued behind a read in flight. */
  #currentVersion(): Promise<string> {
    if (this.#next) {
      return this.#next;
    }
    const inFlight = this.#inFlight;
    if (!inFlight) {
      return this.#read();
    }
    // The read in flight may have taken its snapshot before this request came in.
    this.#next = inFlight.then(ignore, ignore).then(() => {
      this.#next = undefined;
      return this.#read();
    });
    return this.#next;
  }

  #read(): Promise<string> {
    const read: Promise<string> = readAuthVersion(this.db).finally(() => {
      if (this.#inFlight === read) {
        this.#inFlight = undefined;
      }
    });
    this.#inFlight = read;
    return read;
  }
}
