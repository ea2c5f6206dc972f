import type { PasswordHasher } from '../../core/auth.ts';
import { BusyError } from '../../core/errors.ts';

/** How much hashing may be under way at once, and how much may wait for it. */
export interface HashBounds {
  /** Derivations running at once (the Node entry's: one thread each). */
  concurrency: number;
  /** Calls waiting for a running one to end; beyond them a call fails at once. */
  queue: number;
}

/** What a client told the hasher is busy should wait: a slot frees within one derivation (well under 1 s). */
export const HASHER_BUSY_RETRY_S = 1;

/**
 * `inner` with at most `concurrency` hashes or checks under way and `queue` more waiting (first come, first
 * served); a call beyond them throws `BusyError` (503 `unavailable`, `Retry-After: 1`) without waiting, so a
 * login flood costs the rest of the server a fixed share of the CPU and never a growing backlog.
 * @example const passwords = boundedHasher(pbkdf2Hasher(), { concurrency: 2, queue: 8 });
 */
export function boundedHasher(inner: PasswordHasher, bounds: HashBounds): PasswordHasher {
  let running = 0;
  const waiting: (() => void)[] = [];

  function admit(): void {
    if (running >= bounds.concurrency && waiting.length >= bounds.queue) {
      throw new BusyError('Too many logins at once; try again in 1 second.', HASHER_BUSY_RETRY_S);
    }
  }

  async function bounded<T>(work: () => Promise<T>): Promise<T> {
    admit();
    if (running < bounds.concurrency) {
      running++;
    } else {
      // The slot of the call that ends is handed over: `running` stays as it is.
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) {
        next();
      } else {
        running--;
      }
    }
  }

  return {
    hash: (password) => bounded(() => inner.hash(password)),
    verify: (password, stored) => bounded(() => inner.verify(password, stored)),
    admit,
  };
}
