import { errors, jwtVerify, SignJWT } from 'jose';
import { TokenClaims, type TokenService } from '../../core/auth.ts';
import type { Clock } from '../../core/clock.ts';
import { AuthError } from '../../core/errors.ts';

export const TOKEN_ISSUER = 'easel';
export const TOKEN_AUDIENCE = 'easel-api';
export const TOKEN_LIFETIME_S = 24 * 3600;
export const REMEMBER_ME_LIFETIME_S = 7 * 24 * 3600;
/** How far in the future a token's `iat` may be (clock skew between processes) before it is refused. */
export const MAX_IAT_SKEW_S = 60;
/** How many verified tokens `verify` remembers (the oldest is dropped first). */
export const VERIFIED_TOKENS_MAX = 10_000;

/** A token's claims as verified, and its `nbf` (not one of ours, but kept checked if a token has one). */
interface VerifiedToken {
  claims: TokenClaims;
  nbf?: number;
}

/** `jose`'s numeric date of `date`: whole seconds since the epoch. */
const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * The checks of a verified token that depend on the time, in `jwtVerify`'s order and with its comparisons
 * (`nbf`, then `exp`), then the `iat` skew; everything else about a token string never changes.
 */
function checkTimes({ claims, nbf }: VerifiedToken, now: Date): TokenClaims {
  const seconds = epochSeconds(now);
  if (nbf !== undefined && nbf > seconds) {
    throw new AuthError('unauthorized', 'The token is invalid.');
  }
  if (claims.exp <= seconds) {
    throw new AuthError('token_expired', 'The token has expired.');
  }
  if (claims.iat > now.getTime() / 1000 + MAX_IAT_SKEW_S) {
    throw new AuthError('unauthorized', 'The token is invalid.');
  }
  return claims;
}

/**
 * The HS256 token service over a secret key and a clock.
 *
 * `verify` remembers the claims of the last `VERIFIED_TOKENS_MAX` token strings it verified: a token seen
 * again skips the signature, header and claim checks (their outcome is the same for the same string and
 * key) and is checked again only for what the time changes (`nbf`, `exp`, `iat` skew; `checkTimes`). A
 * client sends the same token on every request, and each `jwtVerify` imported the key and ran an HMAC on
 * the crypto thread pool (issue 15). The cache holds nothing about the account: revocations are checked
 * after this, on every request (`authenticate`, ADR 0008). Tokens that fail are never remembered.
 * @example const tokens = hs256Tokens(new TextEncoder().encode(secret), systemClock);
 */
export function hs256Tokens(secret: Uint8Array, clock: Clock): TokenService {
  // Imported once (jose imports a raw key on every call).
  let imported: Promise<CryptoKey> | undefined;
  const key = () => {
    imported ??= crypto.subtle.importKey(
      'raw',
      secret as Uint8Array<ArrayBuffer>,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    return imported;
  };
  const verified = new Map<string, VerifiedToken>();
  return {
    async issue(subject, rememberMe, sid = crypto.randomUUID()) {
      const expiresIn = rememberMe ? REMEMBER_ME_LIFETIME_S : TOKEN_LIFETIME_S;
      const iat = Math.floor(clock.now().getTime() / 1000);
      const token = await new SignJWT({
        email: subject.email,
        is_admin: subject.isAdmin,
        remember_me: rememberMe,
        epoch: subject.epoch,
        sid,
      })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(subject.userId)
        .setJti(crypto.randomUUID())
        .setIssuedAt(iat)
        .setExpirationTime(iat + expiresIn)
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .sign(await key());
      return { token, expiresIn };
    },
    async verify(token) {
      const known = verified.get(token);
      if (known) {
        return checkTimes(known, clock.now());
      }
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, await key(), {
          algorithms: ['HS256'],
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          currentDate: clock.now(),
          requiredClaims: ['sub', 'jti', 'iat', 'exp'],
        }));
      } catch (err) {
        if (err instanceof errors.JWTExpired) {
          throw new AuthError('token_expired', 'The token has expired.', { cause: err });
        }
        throw new AuthError('unauthorized', 'The token is invalid.', { cause: err });
      }
      const claims = TokenClaims.safeParse(payload);
      if (!claims.success) {
        throw new AuthError('unauthorized', 'The token is invalid.', { cause: claims.error });
      }
      if (claims.data.iat > clock.now().getTime() / 1000 + MAX_IAT_SKEW_S) {
        throw new AuthError('unauthorized', 'The token is invalid.');
      }
      const nbf = (payload as { nbf?: unknown }).nbf;
      if (verified.size >= VERIFIED_TOKENS_MAX) {
        const oldest = verified.keys().next();
        if (!oldest.done) {
          verified.delete(oldest.value);
        }
      }
      verified.set(token, { claims: claims.data, ...(typeof nbf === 'number' ? { nbf } : {}) });
      return claims.data;
    },
  };
}
