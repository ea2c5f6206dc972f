import type { PasswordHasher } from '../../core/auth.ts';
/** The contract's floor for PBKDF2-SHA256 rounds, and the production setting. */
export const PBKDF2_MIN_ITERATIONS = 600_000;

const encoder = new TextEncoder();
const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (s: string) => Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));

/** Derives the 32-byte PBKDF2-SHA256 key of a password (Web Crypto by default; a thread pool on Node). */
export type DeriveBits = (password: string, salt: Uint8Array, iterations: number) => Promise<Uint8Array>;

/** PBKDF2-SHA256 through Web Crypto (on Node, libuv's shared thread pool; on Deno, its blocking pool). */
export const webCryptoDerive: DeriveBits = async (password, salt, iterations) => {
  const key = await crypto.subtle.importKey('raw', encoder.encode(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
};

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  }
  return diff === 0;
}

/**
 * PBKDF2-SHA256 with a 16-byte random salt, stored as `pbkdf2-sha256$<rounds>$<salt>$<hash>` (Web Crypto by
 * default, so it runs on Node and Deno). Verification uses the rounds stored with each hash. Unbounded: the
 * server wraps it in `boundedHasher`.
 * @example const hasher = pbkdf2Hasher(); const stored = await hasher.hash('correct horse');
 */
export function pbkdf2Hasher(iterations = PBKDF2_MIN_ITERATIONS, derive = webCryptoDerive): PasswordHasher {
  return {
    async hash(password) {
      const salt = crypto.getRandomValues(new Uint8Array(16));
      return `pbkdf2-sha256$${iterations}$${b64(salt)}$${b64(await derive(password, salt, iterations))}`;
    },
    async verify(password, stored) {
      const [scheme, rounds, salt, hash] = stored.split('$');
      const n = Number(rounds);
      if (scheme !== 'pbkdf2-sha256' || !salt || !hash || !Number.isInteger(n) || n < 1) {
        return false;
      }
      return equalBytes(await derive(password, unb64(salt), n), unb64(hash));
    },
  };
}
