import { sql } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { rowsOf } from '../../db/rows.ts';
import { redactFor, toQueueItem } from '../../queue/item-dto.ts';
import { fromRaw, nextItemIdQuery, type RawItem } from '../../queue/next-item-sql.ts';
import { assertQueue } from './internal.ts';

/** The item that would be claimed next, without claiming it (GET /next), redacted for the caller. */
export async function getNextItem({ ctx, input }: { ctx: ServiceContext; input: { queueId: string } }) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const result =
    await ctx.db.execute(sql`SELECT q.*, u.display_name AS user_display_name, u.email AS user_email
    FROM session_queue q LEFT JOIN users u ON u.user_id = q.user_id
    WHERE q.item_id = (${nextItemIdQuery(input.queueId, ctx.queue.fairness, false)})`);
  const [row] = rowsOf<RawItem>(result);
  return row ? redactFor(actor, toQueueItem(fromRaw(row))) : null;
}
