import { asc, ne } from 'drizzle-orm';
import type { ServiceContext } from '../../core/context.ts';
import { users } from '../../db/schema/index.ts';
import { SYSTEM_USER_ID, toUserDto } from './user-dto.ts';

/** Every account but the built-in `system` user, oldest first. */
export async function listUsers({ ctx }: { ctx: ServiceContext }) {
  const rows = await ctx.db
    .select()
    .from(users)
    .where(ne(users.userId, SYSTEM_USER_ID))
    .orderBy(asc(users.createdAt), asc(users.userId));
  return rows.map((r) => toUserDto(r, ctx.userMaxPending));
}
