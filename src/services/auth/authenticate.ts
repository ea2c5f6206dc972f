import { eq } from 'drizzle-orm';
import type { AuthUser } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { AuthError } from '../../core/errors.ts';
import { revokedTokens } from '../../db/schema/index.ts';
import { findUserById, SYSTEM_USER_ID } from '../users/user-dto.ts';

/**
 * Turns a bearer token into the acting user, applying every rejection rule of API.md section 2: the token
 * itself (algorithm, signature, iss, aud, exp), a logged-out `jti`, a stale `epoch`, and a deleted or
 * inactive account. Rights come from the account as it is now.
 * @example const user = await authenticate({ ctx, input: { token } });
 */
export async function authenticate({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { token: string };
}): Promise<AuthUser> {
  const claims = await ctx.tokens.verify(input.token);
  return authenticateClaims({
    ctx,
    input: {
      userId: claims.sub,
      token: { jti: claims.jti, exp: claims.exp, epoch: claims.epoch, rememberMe: claims.remember_me },
    },
  });
}

/**
 * The account checks of `authenticate` for claims whose signature was checked earlier (an event-stream
 * ticket keeps them instead of the token): not expired, `jti` not logged out, `epoch` current, account
 * active. Rights come from the account as it is now.
 * @example const user = await authenticateClaims({ ctx, input: { userId, token: holder.user.token } });
 */
export async function authenticateClaims({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { userId: string; token: NonNullable<AuthUser['token']> };
}): Promise<AuthUser> {
  const { userId, token } = input;
  if (token.exp <= ctx.clock.now().getTime() / 1000) {
    throw new AuthError('token_expired', 'The token has expired.');
  }
  const [revoked] = await ctx.db
    .select({ jti: revokedTokens.jti })
    .from(revokedTokens)
    .where(eq(revokedTokens.jti, token.jti))
    .limit(1);
  if (revoked) {
    throw new AuthError('unauthorized', 'The token has been revoked.');
  }
  const row = userId === SYSTEM_USER_ID ? undefined : await findUserById(ctx.db, userId);
  if (!row?.isActive) {
    throw new AuthError('unauthorized', 'The account is deleted or inactive.');
  }
  if (token.epoch < row.epoch) {
    throw new AuthError('unauthorized', 'The token has been revoked.');
  }
  return {
    userId: row.userId,
    email: row.email,
    isAdmin: row.isAdmin,
    via: 'token',
    token: { jti: token.jti, exp: token.exp, epoch: token.epoch, rememberMe: token.rememberMe },
  };
}
