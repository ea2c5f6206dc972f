import { eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { boards } from '../../db/schema/index.ts';
import { listOwner } from '../images/internal.ts';
import { selectBoardDtos } from './board-dto.ts';
import { ListBoardsQuery } from './schemas.ts';

/**
 * The caller's boards, newest first, with image counts and covers; an admin may name another user
 * (`user_id`) or `all`.
 * @example const mine = await listBoards({ ctx, input: {} });
 */
export async function listBoards({ ctx, input }: { ctx: ServiceContext; input: ListBoardsQuery }) {
  const actor = requireActor(ctx.actor);
  const owner = listOwner(actor, ListBoardsQuery.parse(input).user_id);
  return selectBoardDtos(ctx.db, owner === null ? undefined : eq(boards.userId, owner));
}
