import type { ServiceContext } from '../../core/context.ts';
import { NotFoundError } from '../../core/errors.ts';
import { findUserById, SYSTEM_USER_ID, toUserDto } from './user-dto.ts';

/** One account by id; the `system` user is not an account and is not found. */
export async function getUser({ ctx, input }: { ctx: ServiceContext; input: { userId: string } }) {
  const row = input.userId === SYSTEM_USER_ID ? undefined : await findUserById(ctx.db, input.userId);
  if (!row) {
    throw new NotFoundError('User', input.userId);
  }
  return toUserDto(row, ctx.userMaxPending);
}
