import { afterAll, describe, expect, it } from 'vitest';
import { hashBounds } from '../../src/boot.ts';
import { Pbkdf2Threads } from '../../src/node/pbkdf2-threads.ts';
import { pbkdf2Hasher, webCryptoDerive } from '../../src/services/auth/passwords.ts';

const threads = new Pbkdf2Threads(2);
afterAll(() => threads.close());

describe('Pbkdf2Threads', () => {
  it('derives what Web Crypto derives, with more jobs than threads waiting their turn', async () => {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const passwords = ['a', 'correct horse', 'ünïcødé', 'd', 'e'];
    const got = await Promise.all(passwords.map((p) => threads.derive(p, salt, 1000)));
    const want = await Promise.all(passwords.map((p) => webCryptoDerive(p, salt, 1000)));
    expect(got).toEqual(want);
    expect(got[0]).toHaveLength(32);
  });

  it('hashes and verifies as pbkdf2Hasher over Web Crypto does', async () => {
    const stored = await pbkdf2Hasher(1000, threads.derive).hash('correct horse');
    expect(await pbkdf2Hasher(1000).verify('correct horse', stored)).toBe(true);
    expect(await pbkdf2Hasher(1000, threads.derive).verify('wrong horse', stored)).toBe(false);
  });
});

describe('hashBounds', () => {
  it('defaults to the runtime threads and 4 waiting per thread; the environment overrides', () => {
    expect(hashBounds({}, 1)).toEqual({ concurrency: 1, queue: 4 });
    expect(hashBounds({ PASSWORD_HASH_THREADS: 3 }, 1)).toEqual({ concurrency: 3, queue: 12 });
    expect(hashBounds({ PASSWORD_HASH_QUEUE: 0 }, 2)).toEqual({ concurrency: 2, queue: 0 });
  });
});
