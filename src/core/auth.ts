import { z } from 'zod';

/** Hashes and checks passwords. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
}

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
 * Counts failed logins and says how long a client must wait. The server's is the database's
 * (`databaseLoginLimiter`, counted across processes); `LoginRateLimiter` keeps them in memory.
 */
export interface LoginLimiter {
  /** Seconds until this key may try again; 0 when it may try now. */
  blockedFor(key: string): number | Promise<number>;
  /** Records a failed attempt. */
  fail(key: string): void | Promise<void>;
  /** Forgets the key's failures (a successful login). */
  succeed(key: string): void | Promise<void>;
}

/** What a token is checked against (API.md section 2): its account as it is, and whether its `jti` was logged out. */
export interface AccountState {
  userId: string;
  email: string;
  isAdmin: boolean;
  isActive: boolean;
  epoch: number;
  jtiRevoked: boolean;
}

/**
 * Reads the account state behind a token, as committed before the call began (on every process sharing the
 * database), so a revocation holds for every request after it. Implementations may cache, never past that.
 */
export interface IdentityCheck {
  /** The state of user `userId` and token `jti`; undefined when no such user exists. */
  lookup(userId: string, jti: string): Promise<AccountState | undefined>;
}
