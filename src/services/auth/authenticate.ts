import type { AuthUser } from '../../core/actor.ts';
import { sessionOf } from '../../core/auth.ts';
import type { ServiceContext } from '../../core/context.ts';
import { AuthError } from '../../core/errors.ts';
import { SYSTEM_USER_ID } from '../users/user-dto.ts';
import { readAccountState } from './identity-cache.ts';

/**
 * Turns a bearer token into the acting user, applying every rejection rule of API.md section 2: the token
 * itself (algorithm, signature, iss, aud, exp), a logged-out session (`sid`), a stale `epoch`, and a deleted
 * or inactive account. Rights come from the account as it is now.
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
      token: { sid: sessionOf(claims), exp: claims.exp, epoch: claims.epoch, rememberMe: claims.remember_me },
    },
  });
}

/**
 * The account checks of `authenticate` for claims whose signature was checked earlier (an event-stream
 * ticket keeps them instead of the token): not expired, session not logged out, `epoch` current, account
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
  // One round trip at most: the account and the session's revocation, from the identity cache (checked
  // against the database's auth version) or read directly
  // (docs/adr/0008-identity-cache-with-a-database-version.md).
  const account =
    userId === SYSTEM_USER_ID
      ? undefined
      : ctx.identities
        ? await ctx.identities.lookup(userId, token.sid)
        : (await readAccountState(ctx.db, userId, token.sid)).state;
  if (account?.sessionRevoked) {
    throw new AuthError('unauthorized', 'The token has been revoked.');
  }
  if (!account?.isActive) {
    throw new AuthError('unauthorized', 'The account is deleted or inactive.');
  }
  if (token.epoch < account.epoch) {
    throw new AuthError('unauthorized', 'The token has been revoked.');
  }
  return {
    userId: account.userId,
    email: account.email,
    isAdmin: account.isAdmin,
    via: 'token',
    token: { sid: token.sid, exp: token.exp, epoch: token.epoch, rememberMe: token.rememberMe },
  };
}
