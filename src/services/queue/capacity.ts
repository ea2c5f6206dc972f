import { sql } from 'drizzle-orm';
import type { ServiceContext } from '../../core/context.ts';
import { LimitExceededError } from '../../core/errors.ts';
import { countActive } from '../../queue/counts.ts';
import { findUserById } from '../users/user-dto.ts';

/**
 * Checks, inside the inserting transaction, that `adding` more items fit the queue's capacity and each
 * owner's `max_pending` (pending + in progress). A queue-wide advisory lock makes concurrent enqueues wait
 * for each other, so two batches cannot both squeeze into the last slots.
 */
export async function assertCapacity(
  tx: ServiceContext,
  queueId: string,
  addingByOwner: Map<string, number>,
) {
  await tx.db.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`queue:${queueId}`}))`);
  const adding = [...addingByOwner.values()].reduce((a, b) => a + b, 0);
  const active = await countActive(tx.db, queueId);
  if (active + adding > tx.queue.maxSize) {
    throw new LimitExceededError(
      `The queue holds at most ${tx.queue.maxSize} pending and running items; it has ${active}, and ${adding} more were asked for.`,
    );
  }
  for (const [userId, n] of addingByOwner) {
    const owner = await findUserById(tx.db, userId);
    const limit = owner?.maxPending ?? tx.userMaxPending;
    const mine = await countActive(tx.db, queueId, userId);
    if (mine + n > limit) {
      throw new LimitExceededError(
        `At most ${limit} pending and running items per user; ${mine} are queued, and ${n} more were asked for.`,
      );
    }
  }
}
