import { describe, expect, it } from 'vitest';
import { PBKDF2_MIN_ITERATIONS, pbkdf2Hasher } from '../../src/services/auth/passwords.ts';

describe('pbkdf2Hasher', () => {
  it('defaults to at least 600k PBKDF2-SHA256 rounds with a 16-byte salt', async () => {
    expect(PBKDF2_MIN_ITERATIONS).toBeGreaterThanOrEqual(600_000);
    const stored = await pbkdf2Hasher().hash('correct horse');
    const [scheme, rounds, salt, hash] = stored.split('$');
    expect(scheme).toBe('pbkdf2-sha256');
    expect(Number(rounds)).toBe(600_000);
    expect(atob(salt ?? '').length).toBe(16);
    expect(atob(hash ?? '').length).toBe(32);
  });

  it('verifies the right password and refuses others', async () => {
    const hasher = pbkdf2Hasher(1000);
    const stored = await hasher.hash('correct horse');
    expect(await hasher.verify('correct horse', stored)).toBe(true);
    expect(await hasher.verify('correct horsE', stored)).toBe(false);
    expect(await hasher.verify('', stored)).toBe(false);
  });

  it('salts every hash', async () => {
    const hasher = pbkdf2Hasher(1000);
    expect(await hasher.hash('same')).not.toBe(await hasher.hash('same'));
  });

  it('verifies with the rounds stored in the hash', async () => {
    const stored = await pbkdf2Hasher(2000).hash('pw-pw-pw-pw');
    expect(await pbkdf2Hasher(1000).verify('pw-pw-pw-pw', stored)).toBe(true);
  });

  it.each(['!', '', 'md5$1$a$b', 'pbkdf2-sha256$0$AA==$AA==', 'pbkdf2-sha256$x$AA==$AA=='])(
    'refuses a malformed stored hash %j',
    async (stored) => {
      expect(await pbkdf2Hasher(1000).verify('anything', stored)).toBe(false);
    },
  );
});
