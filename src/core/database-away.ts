/**
 * SQLSTATEs that mean the database is away rather than that the statement was wrong: class 08 (connection
 * exception), 57P01–57P03 (shut down by an administrator, crashed, cannot connect now: a restart), 53300
 * (too many connections).
 */
const AWAY_SQLSTATE = /^(08...|57P0[123]|53300)$/;

/** The `postgres` driver's own connection failures, and the socket errors beneath them. */
const AWAY_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Whether `err` (or an error in its `cause` chain: Drizzle wraps the driver's) says the database cannot be
 * reached now, rather than that a statement failed: PostgreSQL restarting, a dropped connection. Callers
 * answer 503 `unavailable` or try again later.
 * @example if (isDatabaseUnavailable(err)) throw new ApiError('unavailable', 'The database is unavailable.');
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (AWAY_CODES.has(code) || AWAY_SQLSTATE.test(code))) {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * A step that needs the database refused at once because something before it is already waiting for the
 * database (SQLSTATE 08006, connection failure): `isDatabaseUnavailable` holds for it, so callers wait and
 * log as they do for the driver's own errors.
 * @example throw new DatabaseAwayError('channel events wait for the database');
 */
export class DatabaseAwayError extends Error {
  readonly code = '08006';
  override name = 'DatabaseAwayError';
}

/** The first wait after a failure; it doubles up to `MAX_WAIT_MS`. */
const FIRST_WAIT_MS = 250;
const MAX_WAIT_MS = 5000;

export interface WhileAwayOptions {
  /** Called before each wait, with the failure and the attempt that failed (1, 2, …). */
  onWait: (err: unknown, attempt: number) => void;
  /** Aborted when the caller stops (server shutdown): the wait ends and the last failure is thrown. */
  signal: AbortSignal;
  /** The longest wait between attempts (`MAX_WAIT_MS` unless given). */
  maxWaitMs?: number;
}

/**
 * Runs `fn` until it succeeds or fails for another reason than the database being away (PostgreSQL
 * restarting, a dropped connection), waiting 250 ms, 500 ms, … up to 5 s between attempts. A worker records
 * what it did this way, so an item neither fails nor stays `in_progress` because the database blinked.
 * @example const done = await whileDatabaseAway(() => finish(), { onWait: log, signal: closing.signal });
 */
export async function whileDatabaseAway<T>(fn: () => Promise<T>, opts: WhileAwayOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isDatabaseUnavailable(err) || opts.signal.aborted) {
        throw err;
      }
      opts.onWait(err, attempt);
      await pause(Math.min(opts.maxWaitMs ?? MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (attempt - 1)), opts.signal);
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
