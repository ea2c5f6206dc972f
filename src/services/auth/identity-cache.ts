import { sql } from 'drizzle-orm';
import type { AccountProfile, AccountState, IdentityCheck } from '../../core/auth.ts';
import type { DbOrTx } from '../../core/db.ts';
import { current, PgliteGeneration } from '../../db/pglite-notify.ts';
import { type DatabaseVersions, databaseVersionsOf, versionRow } from '../../db/versions.ts';

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
  const row = await versionRow<StateRow>(
    db,
    sql`SELECT v.version::text AS version, u.user_id, u.email, u.is_admin, u.is_active, u.epoch,
        EXISTS (SELECT 1 FROM revoked_sessions r WHERE r.sid = ${sid}) AS revoked
      FROM auth_version v LEFT JOIN users u ON u.user_id = ${userId}
      WHERE v.id = 1`,
  );
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

interface ProfileRow {
  users_version: string;
  user_id: string | null;
  email: string;
  display_name: string;
  is_admin: boolean;
  is_active: boolean;
  epoch: number;
  max_pending: number | null;
  created_at: string | Date;
  last_login_at: string | Date | null;
}

/**
 * One prepared statement, one snapshot: the profile of `userId` (undefined if there is no such user) and the
 * `users_version` it was read at.
 */
async function readProfile(
  db: DbOrTx,
  userId: string,
): Promise<{ usersVersion: string; profile: AccountProfile | undefined }> {
  const row = await versionRow<ProfileRow>(
    db,
    sql`SELECT v.users_version::text AS users_version, u.user_id, u.email, u.display_name, u.is_admin,
        u.is_active, u.epoch, u.max_pending, u.created_at, u.last_login_at
      FROM auth_version v LEFT JOIN users u ON u.user_id = ${userId}
      WHERE v.id = 1`,
  );
  const profile: AccountProfile | undefined =
    row.user_id === null
      ? undefined
      : {
          userId: row.user_id,
          email: row.email,
          displayName: row.display_name,
          isAdmin: row.is_admin,
          isActive: row.is_active,
          epoch: Number(row.epoch),
          maxPending: row.max_pending === null ? null : Number(row.max_pending),
          createdAt: new Date(row.created_at),
          lastLoginAt: row.last_login_at === null ? null : new Date(row.last_login_at),
        };
  return { usersVersion: row.users_version, profile };
}

/** The channel migration 0009's `auth_version_bump` notifies, in the transaction that bumps the version. */
export const AUTH_VERSION_CHANNEL = 'easel_auth_version';
/** The channel migration 0009 notifies in every transaction that writes `users`. */
export const USERS_CHANGED_CHANNEL = 'easel_users_changed';

/**
 * Token checks without reading the account on every request, and without ever trusting memory past a
 * revocation (API.md section 2, docs/adr/0008-identity-cache-with-a-database-version.md). Each entry holds
 * the account state of one (user, login session) and the `auth_version` it was read at; triggers bump that
 * version in every transaction that revokes. A cached entry is used only after a read of the version that
 * *started after the lookup was called* finds it unchanged, so any revocation committed before the request
 * (on any process) is seen. Concurrent lookups share that read (`DatabaseVersions`, which the kept reads of
 * `QueueReadCache` share too): at most one is in flight, and callers that arrive while it runs wait for the
 * next one, so under load the check costs one tiny query per batch of requests instead of one per request.
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
  readonly #profiles = new Map<
    string,
    { generation: number; usersVersion: string; profile: AccountProfile }
  >();
  readonly #versions: DatabaseVersions;
  readonly #authGeneration: PgliteGeneration;
  readonly #usersGeneration: PgliteGeneration;

  /**
   * `db`: the database itself (never a transaction); `maxEntries`: oldest entries beyond it are dropped;
   * `versions`: the version reads, shared with the other caches of `db` by default.
   */
  constructor(
    private readonly db: DbOrTx,
    private readonly maxEntries = 10_000,
    versions: DatabaseVersions = databaseVersionsOf(db),
  ) {
    this.#versions = versions;
    this.#authGeneration = new PgliteGeneration(db, AUTH_VERSION_CHANNEL);
    this.#usersGeneration = new PgliteGeneration(db, USERS_CHANGED_CHANNEL);
  }

  async lookup(userId: string, sid: string): Promise<AccountState | undefined> {
    const key = `${userId} ${sid}`;
    const entry = this.#entries.get(key);
    const generation = this.#authGeneration.value;
    if (entry) {
      if (
        generation >= 0
          ? current(entry.generation, generation)
          : (await this.#versions.current()).version === entry.version
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
      this.#entries.set(key, { version, generation, state });
    }
    return state;
  }

  /**
   * The account of `userId` for `GET /auth/me`, kept until a transaction writes `users` (any column: a
   * display name, a login's `last_login_at`). On PGlite that write's notification ends every kept profile;
   * on PostgreSQL a kept profile is used after a read of `users_version` sent after this call (shared like
   * the token checks' reads) finds it unchanged (ADR 0008, 4 and 5).
   */
  async profile(userId: string): Promise<AccountProfile | undefined> {
    const generation = this.#usersGeneration.value;
    const kept = this.#profiles.get(userId);
    if (kept) {
      if (
        generation >= 0
          ? current(kept.generation, generation)
          : (await this.#versions.current()).usersVersion === kept.usersVersion
      ) {
        return kept.profile;
      }
    }
    const { usersVersion, profile } = await readProfile(this.db, userId);
    this.#profiles.delete(userId);
    if (!profile) {
      return undefined;
    }
    if (this.#profiles.size >= this.maxEntries) {
      const oldest = this.#profiles.keys().next();
      if (!oldest.done) {
        this.#profiles.delete(oldest.value);
      }
    }
    // The generation from before the read: a write committed while it ran makes the profile stale at once.
    this.#profiles.set(userId, { generation, usersVersion, profile });
    return profile;
  }

  /** How many (user, login session) pairs are cached. */
  get size(): number {
    return this.#entries.size;
  }
}
