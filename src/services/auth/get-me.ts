import type { ServiceContext } from '../../core/context.ts';
import { NotFoundError } from '../../core/errors.ts';
import { findUserById, toUserDto } from '../users/user-dto.ts';

/** The acting user's account, with the rights it acts with (the `system` user is admin in single-user mode). */
export async function getMe({ ctx }: { ctx: ServiceContext }) {
  const actor = ctx.actor;
  // From the identity cache where the context has one (on PGlite it keeps the row until `users` changes).
  const row = !actor
    ? undefined
    : ctx.identities?.profile
      ? await ctx.identities.profile(actor.userId)
      : await findUserById(ctx.db, actor.userId);
  if (!actor || !row) {
    throw new NotFoundError('User', actor?.userId ?? '(anonymous)');
  }
  return { ...toUserDto(row, ctx.userMaxPending), is_admin: actor.isAdmin };
}
