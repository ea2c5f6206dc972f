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

/**
 * The HS256 token service over a secret key and a clock.
 * @example const tokens = hs256Tokens(new TextEncoder().encode(secret), systemClock);
 */
export function hs256Tokens(key: Uint8Array, clock: Clock): TokenService {
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
        .sign(key);
      return { token, expiresIn };
    },
    async verify(token) {
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, key, {
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
      return claims.data;
    },
  };
}
