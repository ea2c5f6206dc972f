import { describe, expect, it } from 'vitest';
import type { PasswordHasher } from '../../src/core/auth.ts';
import { BusyError } from '../../src/core/errors.ts';
import { boundedHasher } from '../../src/services/auth/bounded-hasher.ts';

/** A hasher whose every call waits until the test ends it: `calls` in the order they reached it. */
function slowHasher() {
  const calls: { password: string; end(ok: boolean): void }[] = [];
  const hasher: PasswordHasher = {
    hash: (password) =>
      new Promise((resolve) => calls.push({ password, end: () => resolve(`hash-of-${password}`) })),
    verify: (password) => new Promise((resolve) => calls.push({ password, end: resolve })),
  };
  return { hasher, calls };
}

/** Lets every pending promise callback run (no timers). */
const settle = async () => {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve();
  }
};

describe('boundedHasher', () => {
  it('runs `concurrency` calls at once, queues `queue` more in order, and refuses the next with BusyError', async () => {
    const slow = slowHasher();
    const bounded = boundedHasher(slow.hasher, { concurrency: 2, queue: 1 });
    expect(() => bounded.admit?.()).not.toThrow();
    const a = bounded.verify('a', 's');
    const b = bounded.hash('b');
    const c = bounded.verify('c', 's');
    await settle();
    expect(slow.calls.map((x) => x.password)).toEqual(['a', 'b']);

    expect(() => bounded.admit?.()).toThrow(BusyError);
    const refused = bounded.verify('d', 's');
    await expect(refused).rejects.toBeInstanceOf(BusyError);
    await expect(refused).rejects.toMatchObject({
      code: 'unavailable',
      message: 'Too many logins at once; try again in 1 second.',
      retryAfterSeconds: 1,
    });
    expect(new BusyError('x', 1).headers()).toEqual({ 'Retry-After': '1' });
    // The refused call never reached the inner hasher.
    expect(slow.calls).toHaveLength(2);

    slow.calls[0]?.end(true);
    expect(await a).toBe(true);
    await settle();
    // The queued call took the freed slot; the queue has room again.
    expect(slow.calls.map((x) => x.password)).toEqual(['a', 'b', 'c']);
    const e = bounded.verify('e', 's');
    await settle();
    expect(slow.calls).toHaveLength(3);
    await expect(bounded.verify('f', 's')).rejects.toBeInstanceOf(BusyError);

    slow.calls[1]?.end(true);
    slow.calls[2]?.end(false);
    expect(await b).toBe('hash-of-b');
    expect(await c).toBe(false);
    await settle();
    slow.calls[3]?.end(true);
    expect(await e).toBe(true);
    expect(slow.calls.map((x) => x.password)).toEqual(['a', 'b', 'c', 'e']);
  });

  it('frees the slot of a call that fails', async () => {
    const failing: PasswordHasher = {
      hash: () => Promise.reject(new Error('boom')),
      verify: () => Promise.reject(new Error('boom')),
    };
    const bounded = boundedHasher(failing, { concurrency: 1, queue: 0 });
    await expect(bounded.verify('a', 's')).rejects.toThrow('boom');
    await expect(bounded.hash('b')).rejects.toThrow('boom');
  });
});
