import { and, eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { countByStatus } from '../../queue/counts.ts';
import { assertQueue } from './internal.ts';

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
