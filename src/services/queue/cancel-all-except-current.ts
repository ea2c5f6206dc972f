import { and, eq } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { cancelMatching } from './cancel-matching.ts';
import { assertQueue } from './internal.ts';

/** Cancels every pending item (the running one keeps going): the caller's own, or all for admins. */
export async function cancelAllExceptCurrent({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string };
}) {
  assertQueue(input.queueId);
  const actor = requireActor(ctx.actor);
  const rows = await cancelMatching(
    ctx,
    and(
      eq(sessionQueue.queueId, input.queueId),
      actor.isAdmin ? undefined : eq(sessionQueue.userId, actor.userId),
    ),
    { includeRunning: false, audit: { scope: actor.isAdmin ? 'all' : 'own', except_current: true } },
  );
  return { canceled: rows.length };
}
