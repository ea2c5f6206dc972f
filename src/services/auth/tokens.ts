import { errors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import type { Clock } from '../../clock.ts';
import { AuthError } from '../errors.ts';

export const TOKEN_ISSUER = 'easel';
export const TOKEN_AUDIENCE = 'easel-api';
export const TOKEN_LIFETIME_S = 24 * 3600;
export const REMEMBER_ME_LIFETIME_S = 7 * 24 * 3600;

/** The claims of an Easel token besides `iss` and `aud`. */
export const TokenClaims = z.object({
  sub: z.string().min(1),
  email: z.string(),
  is_admin: z.boolean(),
  remember_me: z.boolean(),
  epoch: z.number().int().min(0),
  jti: z.string().min(1),
  iat: z.number(),
  exp: z.number(),
});
export type TokenClaims = z.infer<typeof TokenClaims>;

export interface TokenSubject {
  userId: string;
  email: string;
  isAdmin: boolean;
  epoch: number;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
}

/** Signs and checks HS256 tokens. Checks here cover the token alone; the account checks are in `authenticate`. */
export interface TokenService {
  issue(subject: TokenSubject, rememberMe: boolean): Promise<IssuedToken>;
  verify(token: string): Promise<TokenClaims>;
}

/**
 * The HS256 token service over a secret key and a clock.
 * @example const tokens = hs256Tokens(new TextEncoder().encode(secret), systemClock);
 */
export function hs256Tokens(key: Uint8Array, clock: Clock): TokenService {
  return {
    async issue(subject, rememberMe) {
      const expiresIn = rememberMe ? REMEMBER_ME_LIFETIME_S : TOKEN_LIFETIME_S;
      const iat = Math.floor(clock.now().getTime() / 1000);
      const token = await new SignJWT({
        email: subject.email,
        is_admin: subject.isAdmin,
        remember_me: rememberMe,
        epoch: subject.epoch,
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
      return claims.data;
    },
  };
}
