import { and, eq, ne, sql } from 'drizzle-orm';
import type { PasswordHasher } from '../../core/auth.ts';
import type { ServiceContext } from '../../core/context.ts';
import { AuthError, RateLimitedError } from '../../core/errors.ts';
import { users } from '../../db/schema/index.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { SYSTEM_USER_ID, toUserDto } from '../users/user-dto.ts';
import { ACCOUNT_LIMIT, ADDRESS_LIMIT, LoginRateLimiter } from './login-rate-limiter.ts';
import { LoginInput, type TokenResponse } from './schemas.ts';

/**
 * A hash of a random password made once by each hasher, checked when the email is unknown so that both
 * failures cost what checking that hasher's own hashes costs (its iterations, not a constant's).
 */
const dummyHashes = new WeakMap<PasswordHasher, Promise<string>>();

function dummyHashOf(passwords: PasswordHasher): Promise<string> {
  let hash = dummyHashes.get(passwords);
  if (!hash) {
    hash = passwords.hash(crypto.randomUUID());
    // A refused hash (a bounded hasher at its bound) is made again by the next unknown email.
    hash.catch(() => dummyHashes.delete(passwords));
    dummyHashes.set(passwords, hash);
  }
  return hash;
}

/**
 * A client address's failures audited one by one within the per-address window; past them only the one
 * that reaches the limit is, and none while it holds (docs/operations.md, "Login limits").
 */
export const AUDITED_FAILURES_PER_ADDRESS = 5;

/**
 * Exchanges email and password for a token. Unknown email, wrong password and inactive account fail alike;
 * after 5 failures per email and client within 15 minutes the pair is refused until the window passes, and
 * after 30 failures from one client address within a minute (whatever the emails) so is the address.
 * Successes never count. Throws `BusyError` (503) when password hashing is at its bound.
 * @example const { token } = await login({ ctx, input: { email, password }, client: '127.0.0.1' });
 */
export async function login({
  ctx,
  input,
  client,
}: {
  ctx: ServiceContext;
  input: LoginInput;
  client: string;
}): Promise<TokenResponse> {
  const data = LoginInput.parse(input);
  const email = data.email.toLowerCase();
  // A flood the hasher cannot take is refused before it costs a database read.
  ctx.passwords.admit?.();
  const key = LoginRateLimiter.key(email, client);
  const address = LoginRateLimiter.addressKey(client);
  const wait = Math.max(
    await ctx.loginLimiter.blockedFor(address, ADDRESS_LIMIT),
    await ctx.loginLimiter.blockedFor(key, ACCOUNT_LIMIT),
  );
  if (wait > 0) {
    throw new RateLimitedError(`Too many failed logins; try again in ${wait} seconds.`, wait);
  }
  const [row] = await ctx.db
    .select()
    .from(users)
    .where(and(eq(sql`lower(${users.email})`, email), ne(users.userId, SYSTEM_USER_ID)))
    .limit(1);
  const passwordOk = await ctx.passwords.verify(
    data.password,
    row?.passwordHash ?? (await dummyHashOf(ctx.passwords)),
  );
  if (!row || !passwordOk || !row.isActive) {
    await ctx.loginLimiter.fail(key, ACCOUNT_LIMIT);
    const failures = await ctx.loginLimiter.fail(address, ADDRESS_LIMIT);
    if (failures <= AUDITED_FAILURES_PER_ADDRESS || failures === ADDRESS_LIMIT.max) {
      await recordAudit({
        ctx,
        input: {
          action: 'auth.login_failed',
          targetType: 'user',
          targetId: row?.userId,
          // The row that reaches the limit says so: the failures since the last audited one were counted only.
          details:
            failures === ADDRESS_LIMIT.max
              ? { email, client, address_failures: failures }
              : { email, client },
          // Nobody proved who they are: the account is the target, never the actor.
          actorUserId: null,
        },
      });
    }
    throw new AuthError('invalid_credentials', 'The email or password is incorrect.');
  }
  // Only the pair is forgiven: a success from an address does not clear the others' failures there.
  await ctx.loginLimiter.succeed(key);
  const now = ctx.clock.now();
  await ctx.db.update(users).set({ lastLoginAt: now }).where(eq(users.userId, row.userId));
  await recordAudit({
    ctx,
    input: {
      action: 'auth.login',
      targetType: 'user',
      targetId: row.userId,
      details: { remember_me: data.remember_me ?? false, client },
      actorUserId: row.userId,
    },
  });
  const issued = await ctx.tokens.issue(
    { userId: row.userId, email: row.email, isAdmin: row.isAdmin, epoch: row.epoch },
    data.remember_me ?? false,
  );
  return {
    token: issued.token,
    expires_in: issued.expiresIn,
    user: toUserDto({ ...row, lastLoginAt: now }, ctx.userMaxPending),
  };
}
