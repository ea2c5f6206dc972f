import type { Clock } from '../../core/clock.ts';

export const LOGIN_MAX_FAILURES = 5;
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
const SWEEP_ABOVE = 10_000;

/**
 * Counts failed logins per email and client in a sliding 15-minute window. After 5 failures the pair is
 * blocked until the oldest failure leaves the window.
 * @example const wait = limiter.blockedFor(key); if (wait > 0) throw new RateLimitedError('…', wait);
 */
export class LoginRateLimiter {
  readonly #failures = new Map<string, number[]>();

  constructor(private readonly clock: Clock) {}

  static key(email: string, client: string): string {
    return `${email.trim().toLowerCase()}\u0000${client}`;
  }

  /** Seconds until the pair may try again; 0 when it may try now. */
  blockedFor(key: string): number {
    const recent = this.#recent(key);
    const oldest = recent[0];
    if (recent.length < LOGIN_MAX_FAILURES || oldest === undefined) {
      return 0;
    }
    return Math.max(1, Math.ceil((oldest + LOGIN_WINDOW_MS - this.clock.now().getTime()) / 1000));
  }

  fail(key: string): void {
    const recent = this.#recent(key);
    recent.push(this.clock.now().getTime());
    this.#failures.set(key, recent);
    if (this.#failures.size > SWEEP_ABOVE) {
      for (const k of this.#failures.keys()) {
        if (this.#recent(k).length === 0) {
          this.#failures.delete(k);
        }
      }
    }
  }

  succeed(key: string): void {
    this.#failures.delete(key);
  }

  /** Entries held, for tests and metrics. */
  get size(): number {
    return this.#failures.size;
  }

  #recent(key: string): number[] {
    const since = this.clock.now().getTime() - LOGIN_WINDOW_MS;
    const recent = (this.#failures.get(key) ?? []).filter((t) => t > since);
    if (recent.length === 0) {
      this.#failures.delete(key);
    }
    return recent;
  }
}
