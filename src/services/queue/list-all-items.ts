import { and, asc, desc, eq } from 'drizzle-orm';
import { type AuthUser, requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { queueReadCacheOf } from '../../queue/counts-cache.ts';
import { executeItems, redactFor, selectItemsFor, toQueueItem } from '../../queue/item-dto.ts';
import { ListAllQuery } from '../../queue/schemas.ts';
import { assertQueue } from './internal.ts';

/** The longest body kept (characters of JSON, about bytes): the 8 kept lists hold at most 16 MiB. */
const MAX_KEPT_BODY = 2 * 1024 * 1024;

/**
 * Every matching item in list order, redacted for the caller, as the response's JSON body. `destination` is
 * redacted on others' items, so for a non-admin it matches only their own items: filtering on a hidden
 * value must not reveal it. Most of a long list's cost is reading its rows (each item's graph parsed from
 * its jsonb) and serializing them again (~30 ms of CPU for 500 items, bench/results/api.md), so the body is
 * kept, serialized, until a write to the queue or the users commits, on either database
 * (`QueueReadCache`); one over 2 MiB is read each time.
 * @example return c.body(await listAllItemsJson({ ctx, input }), 200, { 'Content-Type': 'application/json' });
 */
export async function listAllItemsJson({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; query: ListAllQuery };
}): Promise<string> {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const q = ListAllQuery.parse(input.query);
  const read = async () => JSON.stringify(await readAll(ctx, actor, input.queueId, q));
  const cache = queueReadCacheOf(ctx.db);
  // JSON: `destination` is free text.
  const key = JSON.stringify([
    'all',
    input.queueId,
    actor.userId,
    actor.isAdmin,
    q.status,
    q.destination,
    q.user,
  ]);
  return cache ? cache.get(key, read, 'all', (body) => body.length <= MAX_KEPT_BODY) : read();
}

async function readAll(
  ctx: ServiceContext,
  actor: AuthUser,
  queueId: string,
  q: ReturnType<typeof ListAllQuery.parse>,
) {
  const query = selectItemsFor(ctx.db, actor)
    .where(
      and(
        eq(sessionQueue.queueId, queueId),
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
