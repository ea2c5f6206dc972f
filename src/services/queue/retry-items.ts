import { and, eq, inArray } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { ForbiddenError } from '../../core/errors.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { byOwner } from '../../queue/publish.ts';
import { ItemIds } from '../../queue/schemas.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { assertCapacity, assertQueue } from './internal.ts';

/**
 * Retries failed or canceled items (others are skipped) as new pending items that keep the owner and point
 * back with `retried_from_item_id`. Non-admins may retry only their own items (403 otherwise, nothing
 * retried); unknown ids are skipped. The new items count against the capacities.
 */
export async function retryItems({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; itemIds: number[] };
}) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const ids = ItemIds.parse(input.itemIds);
  const result = await withTransaction(ctx, async (tx) => {
    const rows =
      ids.length === 0
        ? []
        : await tx.db
            .select()
            .from(sessionQueue)
            .where(and(eq(sessionQueue.queueId, input.queueId), inArray(sessionQueue.itemId, ids)));
    const foreign = rows.find((r) => !actor.isAdmin && r.userId !== actor.userId);
    if (foreign) {
      throw new ForbiddenError(`Queue item ${foreign.itemId} belongs to another user.`);
    }
    const byId = new Map(rows.map((r) => [r.itemId, r]));
    const retryable = [...new Set(ids)]
      .map((id) => byId.get(id))
      .filter((r) => r !== undefined && (r.status === 'failed' || r.status === 'canceled'))
      .map((r) => r as NonNullable<typeof r>);
    if (retryable.length === 0) {
      return { originals: [], created: [] };
    }
    const counts = new Map<string, number>();
    for (const r of retryable) {
      counts.set(r.userId, (counts.get(r.userId) ?? 0) + 1);
    }
    await assertCapacity(tx, input.queueId, counts);
    const now = tx.clock.now();
    const created = await tx.db
      .insert(sessionQueue)
      .values(
        retryable.map((r) => {
          const sessionId = crypto.randomUUID();
          return {
            queueId: r.queueId,
            batchId: r.batchId,
            sessionId,
            status: 'pending' as const,
            priority: r.priority,
            fieldValues: r.fieldValues,
            session: { ...r.session, id: sessionId },
            workflow: r.workflow,
            origin: r.origin,
            destination: r.destination,
            createdAt: now,
            updatedAt: now,
            userId: r.userId,
            retriedFromItemId: r.itemId,
          };
        }),
      )
      .returning({
        itemId: sessionQueue.itemId,
        userId: sessionQueue.userId,
        retriedFrom: sessionQueue.retriedFromItemId,
      });
    created.sort((a, b) => a.itemId - b.itemId);
    await recordAudit({
      ctx: tx,
      input: {
        action: 'queue.retried',
        targetType: 'queue',
        targetId: input.queueId,
        details: { retried_item_ids: retryable.map((r) => r.itemId), item_ids: created.map((c) => c.itemId) },
      },
    });
    for (const [userId, newIds] of byOwner(created)) {
      const originals = created.filter((c) => c.userId === userId).map((c) => c.retriedFrom);
      tx.channels.publish({
        name: 'queue_items_retried',
        queueId: input.queueId,
        ownerId: userId,
        data: { queue_id: input.queueId, retried_item_ids: originals, item_ids: newIds, user_id: userId },
      });
    }
    return { originals: retryable, created };
  });
  if (result.created.length > 0) {
    ctx.workers.wake();
  }
  return {
    queue_id: input.queueId,
    retried_item_ids: result.originals.map((r) => r.itemId),
    item_ids: result.created.map((c) => c.itemId),
  };
}
