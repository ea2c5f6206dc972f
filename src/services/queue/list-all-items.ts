import { and, asc, desc, eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { executeItems, redactFor, selectItemsFor, toQueueItem } from '../../queue/item-dto.ts';
import { ListAllQuery } from '../../queue/schemas.ts';
import { assertQueue } from './internal.ts';

/**
 * Every matching item in list order, redacted for the caller. `destination` is redacted on others' items,
 * so for a non-admin it matches only their own items: filtering on a hidden value must not reveal it.
 */
export async function listAllItems({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; query: ListAllQuery };
}) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const q = ListAllQuery.parse(input.query);
  const query = selectItemsFor(ctx.db, actor)
    .where(
      and(
        eq(sessionQueue.queueId, input.queueId),
        q.status ? eq(sessionQueue.status, q.status) : undefined,
        q.destination !== undefined ? eq(sessionQueue.destination, q.destination) : undefined,
        q.user === 'me' || (q.destination !== undefined && !actor.isAdmin)
          ? eq(sessionQueue.userId, actor.userId)
          : undefined,
      ),
    )
    .orderBy(desc(sessionQueue.priority), asc(sessionQueue.itemId));
  const rows = await executeItems(ctx.db, query);
  return rows.map((r) => redactFor(actor, toQueueItem(r)));
}
