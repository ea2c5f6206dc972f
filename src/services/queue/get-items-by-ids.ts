import { and, eq, inArray } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { redactFor, selectItemsFor, toQueueItem } from '../../queue/item-dto.ts';
import { ItemIds } from '../../queue/schemas.ts';
import { assertQueue } from './internal.ts';

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
  const rows = await selectItemsFor(ctx.db, actor).where(
    and(eq(sessionQueue.queueId, input.queueId), inArray(sessionQueue.itemId, ids)),
  );
  const byId = new Map(rows.map((r) => [r.itemId, r]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    return row ? [redactFor(actor, toQueueItem(row))] : [];
  });
}
