import { and, asc, desc, eq, gt, lt, type SQL } from 'drizzle-orm';
import { unionAll } from 'drizzle-orm/pg-core';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { queueReadCacheOf } from '../../queue/counts-cache.ts';
import { executeItems, type ItemRow, redactFor, selectItemsFor, toQueueItem } from '../../queue/item-dto.ts';
import { ListQuery } from '../../queue/schemas.ts';
import { assertQueue, decodeCursor, encodeCursor } from './internal.ts';

/**
 * A page of the queue in list order (priority desc, item_id asc), redacted for the caller. The cursor is
 * the position of the last item, so items added meanwhile cause no skip or repeat. The first page (what a
 * polling tab asks for) is kept until a write to the queue or the users commits, on either database
 * (`QueueReadCache`).
 */
export async function listItems({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; query: ListQuery };
}) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const q = ListQuery.parse(input.query);
  const read = () => readPage(ctx, input.queueId, q);
  const cache = q.cursor === undefined ? queueReadCacheOf(ctx.db) : undefined;
  const key = `list ${input.queueId} ${actor.userId} ${actor.isAdmin} ${q.limit} ${q.status ?? ''} ${q.user ?? ''}`;
  return cache ? cache.get(key, read, 'page') : read();
}

async function readPage(ctx: ServiceContext, queueId: string, q: ReturnType<typeof ListQuery.parse>) {
  const actor = requireActor(ctx.actor);
  const where: (SQL | undefined)[] = [eq(sessionQueue.queueId, queueId)];
  if (q.status) {
    where.push(eq(sessionQueue.status, q.status));
  }
  if (q.user === 'me') {
    where.push(eq(sessionQueue.userId, actor.userId));
  }
  const order = [desc(sessionQueue.priority), asc(sessionQueue.itemId)] as const;
  const slice = (after?: SQL) =>
    selectItemsFor(ctx.db, actor)
      .where(and(...where, after))
      .orderBy(...order)
      .limit(q.limit + 1);
  let rows: ItemRow[];
  // Prepared statements (executeItems): PostgreSQL plans each shape of this hot query once per connection.
  if (q.cursor === undefined) {
    rows = await executeItems(ctx.db, slice());
  } else {
    const c = decodeCursor(q.cursor);
    // After the cursor: the rest of its priority, then the lower priorities, as two index range scans merged
    // in order. One `priority < p OR (priority = p AND item_id > id)` condition cannot bound an index scan,
    // so PostgreSQL read every row before the cursor (tens of ms at 100k items).
    rows = await executeItems(
      ctx.db,
      unionAll(
        slice(and(eq(sessionQueue.priority, c.priority), gt(sessionQueue.itemId, c.itemId))),
        slice(lt(sessionQueue.priority, c.priority)),
      )
        .orderBy(...order)
        .limit(q.limit + 1),
    );
  }
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  const hasMore = rows.length > q.limit;
  return {
    items: page.map((r) => redactFor(actor, toQueueItem(r))),
    has_more: hasMore,
    next_cursor: hasMore && last ? encodeCursor({ priority: last.priority, itemId: last.itemId }) : null,
  };
}
