import { z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { LimitExceededError, ValidationError } from '../../core/errors.ts';
import { stringsAtKey } from '../../core/json-keys.ts';
import { executePrepared } from '../../db/prepared.ts';
import { rowsOf } from '../../db/rows.ts';
import { readableImageNames } from '../../images/readable.ts';
import { Batch, countSessions, expandBatch } from '../../queue/batch-expand.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { ownedBoardIds } from '../boards/owned-boards.ts';
import { assertCapacity, assertQueue } from './internal.ts';

export const EnqueueBatchInput = z
  .strictObject({ batch: Batch, prepend: z.boolean().optional() })
  .openapi('EnqueueBatchInput');
export type EnqueueBatchInput = z.input<typeof EnqueueBatchInput>;

/** Rows per INSERT statement. */
const INSERT_CHUNK = 1000;

/**
 * Validates and expands a batch, then inserts all of its sessions in one transaction, or none: a graph or
 * data problem is 422, going over the queue's or the caller's capacity is 429. `prepend` gives the items
 * priority 1. Publishes `batch_enqueued` to the owner in the same transaction and wakes the processor.
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
  // A board must be the caller's own, admins included: the images will be theirs, and boards never mix owners.
  const boards = await ownedBoardIds(
    ctx.db,
    actor.userId,
    stringsAtKey([body.batch.graph, body.batch.data], 'board_id'),
  );
  // An image (i2l) must be one the caller may read: their own, or any for an admin.
  const readable = await readableImageNames(
    ctx.db,
    actor,
    stringsAtKey([body.batch.graph, body.batch.data], 'image_name'),
  );
  const expanded = expandBatch(body.batch, {
    modelExists: (key) => ctx.models.has(key),
    boardOwned: (id) => boards.has(id),
    imageReadable: (name) => readable.has(name),
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
        // A missing key reads as SQL NULL in jsonb_to_recordset.
        return s.fieldValues.length > 0
          ? { session_id: sessionId, field_values: s.fieldValues, session: { id: sessionId, graph: s.graph } }
          : { session_id: sessionId, session: { id: sessionId, graph: s.graph } };
      });
      const workflow = body.batch.workflow ?? null;
      const at = now.toISOString();
      // One JSON parameter per chunk instead of 12 per row: the statement stays the same (and prepared),
      // and no large VALUES list is built. WITH ORDINALITY keeps the item ids in expansion order.
      const result = await executePrepared(
        tx.db,
        sql`INSERT INTO session_queue (queue_id, batch_id, session_id, priority, field_values, session, workflow,
            origin, destination, created_at, updated_at, user_id)
          SELECT ${input.queueId}, ${batchId}, r.session_id, ${priority}::int, r.field_values, r.session,
            ${workflow === null ? null : JSON.stringify(workflow)}::jsonb, ${body.batch.origin ?? null}::text,
            ${body.batch.destination ?? null}::text, ${at}::timestamptz, ${at}::timestamptz, ${actor.userId}
          FROM ROWS FROM (jsonb_to_recordset(${JSON.stringify(chunk)}::jsonb)
            AS (session_id text, field_values jsonb, session jsonb)) WITH ORDINALITY AS r(session_id, field_values, session, n)
          ORDER BY r.n
          RETURNING item_id`,
      );
      ids.push(
        ...rowsOf<{ item_id: number }>(result)
          .map((r) => Number(r.item_id))
          .sort((x, y) => x - y),
      );
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
    tx.channels.publish({
      name: 'batch_enqueued',
      queueId: input.queueId,
      ownerId: actor.userId,
      data: {
        queue_id: input.queueId,
        batch_id: batchId,
        enqueued: ids.length,
        requested,
        priority,
        origin: body.batch.origin ?? null,
        user_id: actor.userId,
      },
    });
    return ids;
  });
  ctx.workers.wake();
  return {
    queue_id: input.queueId,
    batch: { ...body.batch, batch_id: batchId },
    enqueued: itemIds.length,
    requested,
    priority,
    item_ids: itemIds,
  };
}
