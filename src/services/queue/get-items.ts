import { and, asc, eq, inArray } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { NotFoundError } from '../../core/errors.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { redactFor, selectItems, toQueueItem } from '../../queue/item-dto.ts';
import { assertQueue, findItem } from './access.ts';
import { ItemIds } from './schemas.ts';

/** One item, redacted for the caller; unknown is 404. */
export async function getItem({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; itemId: number };
}) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const row = await findItem(ctx.db, input.queueId, input.itemId);
  if (!row) {
    throw new NotFoundError('Queue item', String(input.itemId));
  }
  return redactFor(actor, toQueueItem(row));
}

/** Items by id in the order asked (unknown ids skipped), redacted for the caller. */
export async function getItemsByIds({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; itemIds: number[] };
}) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const ids = ItemIds.parse(input.itemIds);
  if (ids.length === 0) {
    return [];
  }
  const rows = await selectItems(ctx.db).where(
    and(eq(sessionQueue.queueId, input.queueId), inArray(sessionQueue.itemId, ids)),
  );
  const byId = new Map(rows.map((r) => [r.itemId, r]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    return row ? [redactFor(actor, toQueueItem(row))] : [];
  });
}

/** The item in progress (the oldest, if several), or null. */
export async function getCurrentItem({ ctx, input }: { ctx: ServiceContext; input: { queueId: string } }) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const [row] = await selectItems(ctx.db)
    .where(and(eq(sessionQueue.queueId, input.queueId), eq(sessionQueue.status, 'in_progress')))
    .orderBy(asc(sessionQueue.startedAt), asc(sessionQueue.itemId))
    .limit(1);
  return row ? redactFor(actor, toQueueItem(row)) : null;
}
