import { and, asc, eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import type { DbOrTx } from '../../core/db.ts';
import { NotFoundError } from '../../core/errors.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { countByStatus } from '../../queue/counts.ts';
import { assertQueue } from './access.ts';

/** The queue's counts with the running item id (what `queue_item_status_changed` carries as `queue_status`). */
export async function queueCounts(db: DbOrTx, queueId: string) {
  const counts = await countByStatus(db, eq(sessionQueue.queueId, queueId));
  const [current] = await db
    .select({ itemId: sessionQueue.itemId })
    .from(sessionQueue)
    .where(and(eq(sessionQueue.queueId, queueId), eq(sessionQueue.status, 'in_progress')))
    .orderBy(asc(sessionQueue.startedAt), asc(sessionQueue.itemId))
    .limit(1);
  return { queue_id: queueId, item_id: current?.itemId ?? null, ...counts };
}

/** The `queue_status` event's data: the queue's counts, no item data. */
export function queueStatusCounts(db: DbOrTx, queueId: string) {
  return countByStatus(db, eq(sessionQueue.queueId, queueId));
}

/** Counts for the whole queue and for the caller, and the processor's state. */
export async function getQueueStatus({ ctx, input }: { ctx: ServiceContext; input: { queueId: string } }) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const [queue, mine] = await Promise.all([
    queueCounts(ctx.db, input.queueId),
    countByStatus(
      ctx.db,
      and(eq(sessionQueue.queueId, input.queueId), eq(sessionQueue.userId, actor.userId)),
    ),
  ]);
  return { queue, mine, processor: ctx.workers.status() };
}

/** A batch's counts, over the items the viewer may see: the owner's own, or all for admins (`owner` null). */
export async function batchCounts(db: DbOrTx, queueId: string, batchId: string, owner: string | null) {
  const where = and(
    eq(sessionQueue.queueId, queueId),
    eq(sessionQueue.batchId, batchId),
    owner === null ? undefined : eq(sessionQueue.userId, owner),
  );
  const counts = await countByStatus(db, where);
  const [first] = await db
    .select({ origin: sessionQueue.origin, destination: sessionQueue.destination })
    .from(sessionQueue)
    .where(where)
    .orderBy(asc(sessionQueue.itemId))
    .limit(1);
  return {
    queue_id: queueId,
    batch_id: batchId,
    origin: first?.origin ?? null,
    destination: first?.destination ?? null,
    ...counts,
  };
}

/** A batch's status for its owner or an admin; another user's batch is 404, like an unknown one. */
export async function getBatchStatus({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; batchId: string };
}) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const status = await batchCounts(ctx.db, input.queueId, input.batchId, actor.isAdmin ? null : actor.userId);
  if (status.total === 0) {
    throw new NotFoundError('Batch', input.batchId);
  }
  return status;
}

/** The caller's own items with a destination, by status. */
export async function getCountsByDestination({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; destination: string };
}) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const counts = await countByStatus(
    ctx.db,
    and(
      eq(sessionQueue.queueId, input.queueId),
      eq(sessionQueue.userId, actor.userId),
      eq(sessionQueue.destination, input.destination),
    ),
  );
  return { queue_id: input.queueId, destination: input.destination, ...counts };
}
