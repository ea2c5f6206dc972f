import { sql } from 'drizzle-orm';
import type { LoginLimiter } from '../../core/auth.ts';
import type { Clock } from '../../core/clock.ts';
import type { DbOrTx } from '../../core/db.ts';
import { rowsOf } from '../../db/rows.ts';
import { ACCOUNT_LIMIT, LOGIN_WINDOW_MS, SWEEP_ABOVE, waitSeconds } from './login-rate-limiter.ts';

/** Rows hold a SHA-256 of the key: the key has a NUL (text cannot) and names an email or a client. */
async function stored(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** How often a process deletes the failures that left the window (besides each key's own, on its failures). */
const PRUNE_EVERY_MS = 60_000;

/**
 * Failed logins counted across processes (API.md section 8), with the rules of `LoginRateLimiter`: past its
 * limit (per email and client, `LoginRateLimiter.key`, by default; per client address,
 * `LoginRateLimiter.addressKey`, with `ADDRESS_LIMIT`) a key is refused until the oldest of its failures
 * leaves the window.
 * @example const wait = await sharedLoginLimiter.blockedFor(db, key, now); if (wait > 0) throw new RateLimitedError('…', wait);
 */
export const sharedLoginLimiter = {
  /** Seconds until the key may try again; 0 when it may try now. */
  async blockedFor(db: DbOrTx, key: string, now: Date, limit = ACCOUNT_LIMIT): Promise<number> {
    const until = await sharedLoginLimiter.blockedUntil(db, key, now, limit);
    return until === undefined ? 0 : waitSeconds(until, now.getTime());
  },

  /** When (ms since the epoch) the key may try again; undefined when it may try now. */
  async blockedUntil(db: DbOrTx, key: string, now: Date, limit = ACCOUNT_LIMIT): Promise<number | undefined> {
    const hashed = await stored(key);
    const since = new Date(now.getTime() - limit.windowMs).toISOString();
    const [row] = rowsOf<{ n: number; oldest: string | Date | null }>(
      await db.execute(sql`SELECT count(*)::int AS n, min(failed_at) AS oldest FROM login_failures
        WHERE key = ${hashed} AND failed_at > ${since}::timestamptz`),
    );
    if (!row || row.n < limit.max || row.oldest === null) {
      return undefined;
    }
    return new Date(row.oldest).getTime() + limit.windowMs;
  },

  /**
   * Records a failure and drops the key's failures that left the window, in one statement (the count is
   * read from the snapshot before the insert, hence the + 1); returns the key's failures within the window,
   * this one included.
   */
  async fail(db: DbOrTx, key: string, now: Date, limit = ACCOUNT_LIMIT): Promise<number> {
    const hashed = await stored(key);
    const since = new Date(now.getTime() - limit.windowMs).toISOString();
    const [row] = rowsOf<{ n: number }>(
      await db.execute(sql`WITH gone AS (
          DELETE FROM login_failures WHERE key = ${hashed} AND failed_at <= ${since}::timestamptz RETURNING 1
        ), added AS (
          INSERT INTO login_failures (key, failed_at) VALUES (${hashed}, ${now.toISOString()}::timestamptz)
          RETURNING 1
        )
        SELECT count(*)::int + 1 AS n FROM login_failures WHERE key = ${hashed} AND failed_at > ${since}::timestamptz`),
    );
    return Number(row?.n ?? 1);
  },
  /** A successful login forgets the key's failures. */
  async succeed(db: DbOrTx, key: string): Promise<void> {
    await db.execute(sql`DELETE FROM login_failures WHERE key = ${await stored(key)}`);
  },

  /** Deletes every failure that left the window (housekeeping); returns how many. */
  async prune(db: DbOrTx, now: Date): Promise<number> {
    const since = new Date(now.getTime() - LOGIN_WINDOW_MS).toISOString();
    const rows = rowsOf<{ n: number }>(
      await db.execute(sql`WITH gone AS (DELETE FROM login_failures WHERE failed_at <= ${since}::timestamptz
        RETURNING 1) SELECT count(*)::int AS n FROM gone`),
    );
    return Number(rows[0]?.n ?? 0);
  },
};

/**
 * The server's `LoginLimiter`: `sharedLoginLimiter` on the app's database and clock, so a limit reached
 * through one process holds on every other. A failure also deletes every failure that left the window (an
 * indexed delete), once a minute at most, so the table holds at most 16 minutes of failures. A block this process saw is
 * remembered until it ends (no failure leaves the window before then, and a blocked key cannot succeed), so
 * a flood of refused attempts costs no database read.
 * @example deps.loginLimiter = databaseLoginLimiter(database.db, clock);
 */
export function databaseLoginLimiter(db: DbOrTx, clock: Clock): LoginLimiter {
  const blocked = new Map<string, number>();
  let prunedAt = Number.NEGATIVE_INFINITY;
  return {
    blockedFor: async (key, limit = ACCOUNT_LIMIT) => {
      const now = clock.now();
      const until = blocked.get(key) ?? (await sharedLoginLimiter.blockedUntil(db, key, now, limit));
      if (until === undefined || until <= now.getTime()) {
        blocked.delete(key);
        return 0;
      }
      if (blocked.size >= SWEEP_ABOVE) {
        for (const [k, t] of blocked) {
          if (t <= now.getTime()) {
            blocked.delete(k);
          }
        }
      }
      blocked.set(key, until);
      return waitSeconds(until, now.getTime());
    },
    fail: async (key, limit) => {
      const now = clock.now();
      if (now.getTime() - prunedAt >= PRUNE_EVERY_MS) {
        prunedAt = now.getTime();
        await sharedLoginLimiter.prune(db, now);
      }
      return sharedLoginLimiter.fail(db, key, now, limit);
    },
    succeed: (key) => sharedLoginLimiter.succeed(db, key),
  };
}
