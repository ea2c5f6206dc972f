import { z } from 'zod';

/** Hashes and checks passwords. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
  /**
   * Throws `BusyError` when a call now would be refused (a bounded hasher at its bound), so that a login
   * refuses before its database reads; absent on unbounded hashers.
   */
  admit?(): void;
}

/** The claims of an Easel token besides `iss` and `aud`. */
export const TokenClaims = z.object({
  sub: z.string().min(1),
  email: z.string(),
  is_admin: z.boolean(),
  remember_me: z.boolean(),
  epoch: z.number().int().min(0),
  /** The login session; absent from tokens issued before sessions existed (each a session of its own). */
  sid: z.string().min(1).optional(),
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
  /**
   * A token of login session `sid` (a sliding refresh keeps its session), or without one of a new session
   * (login, setup).
   */
  issue(subject: TokenSubject, rememberMe: boolean, sid?: string): Promise<IssuedToken>;
  verify(token: string): Promise<TokenClaims>;
}

/** How many failed logins a key may have within a sliding window before it is refused. */
export interface LoginLimit {
  max: number;
  windowMs: number;
}

/**
 * Counts failed logins and says how long a client must wait. The server's is the database's
 * (`databaseLoginLimiter`, counted across processes); `LoginRateLimiter` keeps them in memory. A key is
 * counted under one limit (per email and client, or per client address); without one, the per-email limit.
 */
export interface LoginLimiter {
  /** Seconds until this key may try again; 0 when it may try now. */
  blockedFor(key: string, limit?: LoginLimit): number | Promise<number>;
  /** Records a failed attempt; returns the key's failures within the limit's window, this one included. */
  fail(key: string, limit?: LoginLimit): number | Promise<number>;
  /** Forgets the key's failures (a successful login). */
  succeed(key: string): void | Promise<void>;
}

/**
 * What a token is checked against (API.md section 2): its account as it is, and whether its login session
 * was logged out.
 */
export interface AccountState {
  userId: string;
  email: string;
  isAdmin: boolean;
  isActive: boolean;
  epoch: number;
  sessionRevoked: boolean;
}

/**
 * The login session of a token: its `sid`, or for a token issued before sessions existed its own `jti` (a
 * session of one token, which its refreshes join).
 * @example const sid = sessionOf(claims);
 */
export function sessionOf(claims: Pick<TokenClaims, 'sid' | 'jti'>): string {
  return claims.sid ?? claims.jti;
}

/** What `GET /auth/me` shows of an account (the `users` row without its secrets). */
export interface AccountProfile {
  userId: string;
  email: string;
  displayName: string;
  isAdmin: boolean;
  isActive: boolean;
  epoch: number;
  maxPending: number | null;
  createdAt: Date;
  lastLoginAt: Date | null;
}

/**
 * Reads the account state behind a token, as committed before the call began (on every process sharing the
 * database), so a revocation holds for every request after it. Implementations may cache, never past that.
 */
export interface IdentityCheck {
  /** The state of user `userId` and login session `sid`; undefined when no such user exists. */
  lookup(userId: string, sid: string): Promise<AccountState | undefined>;
  /**
   * The account of `userId` as committed before the call began (undefined when no such user exists). When
   * absent, callers read the row themselves.
   */
  profile?(userId: string): Promise<AccountProfile | undefined>;
}
