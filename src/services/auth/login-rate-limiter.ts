import type { LoginLimit } from '../../core/auth.ts';
import type { Clock } from '../../core/clock.ts';

export const LOGIN_MAX_FAILURES = 5;
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
/** Failures per email and client: 5 within 15 minutes (API.md section 2). */
export const ACCOUNT_LIMIT: LoginLimit = { max: LOGIN_MAX_FAILURES, windowMs: LOGIN_WINDOW_MS };
/** Failures per client address, whatever the emails: 30 within a minute (API.md section 2). */
export const ADDRESS_LIMIT: LoginLimit = { max: 30, windowMs: 60 * 1000 };
/** Past this many keys held in memory, the expired ones are dropped. */
export const SWEEP_ABOVE = 10_000;

/** Seconds from `now` until `until` (ms since the epoch), at least 1: a blocked key's `Retry-After`. */
export const waitSeconds = (until: number, now: number) => Math.max(1, Math.ceil((until - now) / 1000));

/**
 * Counts failed logins per key in a sliding window: per email and client (`key`, 5 within 15 minutes) and
 * per client address (`addressKey`, 30 within a minute). Past its limit a key is blocked until its oldest
 * failure leaves the window.
 * @example const wait = limiter.blockedFor(key); if (wait > 0) throw new RateLimitedError('…', wait);
 */
export class LoginRateLimiter {
  readonly #failures = new Map<string, number[]>();

  constructor(private readonly clock: Clock) {}

  static key(email: string, client: string): string {
    return `${email.trim().toLowerCase()}\u0000${client}`;
  }

  /** The key of a client address's failures, whatever the emails (no email key starts with NUL). */
  static addressKey(client: string): string {
    return `\u0000address\u0000${client}`;
  }

  /** Seconds until the key may try again; 0 when it may try now. */
  blockedFor(key: string, limit = ACCOUNT_LIMIT): number {
    const recent = this.#recent(key, limit.windowMs);
    const oldest = recent[0];
    if (recent.length < limit.max || oldest === undefined) {
      return 0;
    }
    return waitSeconds(oldest + limit.windowMs, this.clock.now().getTime());
  }

  /** Records a failure; returns the key's failures within the limit's window, this one included. */
  fail(key: string, limit = ACCOUNT_LIMIT): number {
    const recent = this.#recent(key, limit.windowMs);
    recent.push(this.clock.now().getTime());
    this.#failures.set(key, recent);
    if (this.#failures.size > SWEEP_ABOVE) {
      for (const k of this.#failures.keys()) {
        if (this.#recent(k, LOGIN_WINDOW_MS).length === 0) {
          this.#failures.delete(k);
        }
      }
    }
    return recent.length;
  }

  succeed(key: string): void {
    this.#failures.delete(key);
  }

  /** Entries held, for tests and metrics. */
  get size(): number {
    return this.#failures.size;
  }

  #recent(key: string, windowMs: number): number[] {
    const since = this.clock.now().getTime() - windowMs;
    const recent = (this.#failures.get(key) ?? []).filter((t) => t > since);
    if (recent.length === 0) {
      this.#failures.delete(key);
    }
    return recent;
  }
}
