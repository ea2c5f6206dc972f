import { ne, sql } from 'drizzle-orm';
import type { ServiceContext } from '../../core/context.ts';
import { users } from '../../db/schema/index.ts';
import { SYSTEM_USER_ID } from '../users/user-dto.ts';

/** Whether an account exists yet; `system` does not count. */
export async function hasAnyUser(ctx: ServiceContext): Promise<boolean> {
  const [row] = await ctx.db
    .select({ n: sql<number>`count(*)::int` })
    .from(users)
    .where(ne(users.userId, SYSTEM_USER_ID));
  return (row?.n ?? 0) > 0;
}

export async function getAuthStatus({ ctx, input }: { ctx: ServiceContext; input: { multiuser: boolean } }) {
  return {
    setup_required: input.multiuser && !(await hasAnyUser(ctx)),
    multiuser_enabled: input.multiuser,
  };
}
