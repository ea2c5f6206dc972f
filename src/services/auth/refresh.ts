import type { ServiceContext } from '../../core/context.ts';
import { findUserById } from '../users/user-dto.ts';

/**
 * The sliding refresh: a new token of the same class (remember-me kept) and the same login session (`sid`)
 * for the acting token's account, with its current rights. None when the request itself revoked the token
 * (its epoch moved, or it was deleted).
 */
export async function refreshToken({ ctx }: { ctx: ServiceContext }): Promise<string | undefined> {
  const token = ctx.actor?.token;
  if (!ctx.actor || !token) {
    return undefined;
  }
  // The account as committed now (the handler's own writes included): kept by the identity cache where the
  // context has one, as `GET /auth/me` reads it.
  const row = ctx.identities?.profile
    ? await ctx.identities.profile(ctx.actor.userId)
    : await findUserById(ctx.db, ctx.actor.userId);
  if (!row?.isActive || row.epoch !== token.epoch) {
    return undefined;
  }
  const issued = await ctx.tokens.issue(
    { userId: row.userId, email: row.email, isAdmin: row.isAdmin, epoch: row.epoch },
    token.rememberMe,
    token.sid,
  );
  return issued.token;
}
