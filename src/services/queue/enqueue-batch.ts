import { z } from '@hono/zod-openapi';
import { sessionQueue } from '../../db/schema/index.ts';
import { Batch, countSessions, expandBatch } from '../../queue/batch-expand.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { type ServiceContext, withTransaction } from '../context.ts';
import { LimitExceededError, ValidationError } from '../errors.ts';
import { assertQueue, requireActor } from './access.ts';
import { assertCapacity } from './capacity.ts';

export const EnqueueBatchInput = z
  .strictObject({ batch: Batch, prepend: z.boolean().optional() })
  .openapi('EnqueueBatchInput');
export type EnqueueBatchInput = z.input<typeof EnqueueBatchInput>;

/** Rows per INSERT statement. */
const INSERT_CHUNK = 1000;

/**
 * Validates and expands a batch, then inserts all of its sessions in one transaction, or none: a graph or
 * data problem is 422, going over the queue's or the caller's capacity is 429. `prepend` gives the items
 * priority 1. Publishes `batch_enqueued` to the owner after the commit and wakes the processor.
 * @example const res = await enqueueBatch({ ctx, input: { queueId: 'default', body: { batch } } });
 */
export async function enqueueBatch({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; body: EnqueueBatchInput };
}) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const body = EnqueueBatchInput.parse(input.body);
  const requested = countSessions(body.batch);
  if (requested > ctx.queue.maxSize) {
    throw new LimitExceededError(
      `The batch expands to ${requested} items; the queue holds at most ${ctx.queue.maxSize}.`,
    );
  }
  const expanded = expandBatch(body.batch, {
    modelExists: (key) => ctx.models.has(key),
    // Boards arrive with the gallery; until then no board is the caller's.
    boardOwned: () => false,
  });
  if (!expanded.ok) {
    throw new ValidationError(
      expanded.problems.map((p) => ({ ...p, path: p.path ? `batch.${p.path}` : 'batch' })),
    );
  }
  const batchId = body.batch.batch_id ?? crypto.randomUUID();
  const priority = body.prepend ? 1 : 0;
  const itemIds = await withTransaction(ctx, async (tx) => {
    await assertCapacity(tx, input.queueId, new Map([[actor.userId, expanded.sessions.length]]));
    const now = tx.clock.now();
    const ids: number[] = [];
    for (let start = 0; start < expanded.sessions.length; start += INSERT_CHUNK) {
      const chunk = expanded.sessions.slice(start, start + INSERT_CHUNK).map((s) => {
        const sessionId = crypto.randomUUID();
        return {
          queueId: input.queueId,
          batchId,
          sessionId,
          priority,
          fieldValues: s.fieldValues.length > 0 ? s.fieldValues : null,
          session: { id: sessionId, graph: s.graph },
          workflow: body.batch.workflow ?? null,
          origin: body.batch.origin ?? null,
          destination: body.batch.destination ?? null,
          createdAt: now,
          updatedAt: now,
          userId: actor.userId,
        };
      });
      const rows = await tx.db.insert(sessionQueue).values(chunk).returning({ itemId: sessionQueue.itemId });
      // Identity values are assigned in VALUES order; sorting makes that order explicit.
      ids.push(...rows.map((r) => r.itemId).sort((a, b) => a - b));
    }
    await recordAudit({
      ctx: tx,
      input: {
        action: 'queue.enqueued',
        targetType: 'batch',
        targetId: batchId,
        details: { queue_id: input.queueId, enqueued: ids.length, priority },
      },
    });
    return ids;
  });
  ctx.events.publish({
    name: 'batch_enqueued',
    queueId: input.queueId,
    ownerId: actor.userId,
    data: {
      queue_id: input.queueId,
      batch_id: batchId,
      enqueued: itemIds.length,
      requested,
      priority,
      origin: body.batch.origin ?? null,
      user_id: actor.userId,
    },
  });
  ctx.processor.wake();
  return {
    queue_id: input.queueId,
    batch: { ...body.batch, batch_id: batchId },
    enqueued: itemIds.length,
    requested,
    priority,
    item_ids: itemIds,
  };
}
