import { and, eq } from 'drizzle-orm';
import type { AuthUser } from '../../core/actor.ts';
import type { DbOrTx } from '../../core/db.ts';
import { ForbiddenError, NotFoundError } from '../../core/errors.ts';
import { sessionQueue } from '../../db/schema/index.ts';
import { type ItemRow, selectItems } from '../../queue/item-dto.ts';

export const DEFAULT_QUEUE_ID = 'default';

/** Only the `default` queue exists (API.md section 4); any other id is 404. */
export function assertQueue(queueId: string): void {
  if (queueId !== DEFAULT_QUEUE_ID) {
    throw new NotFoundError('Queue', queueId);
  }
}

/** The acting user, which every queue verb needs. */
export function requireActor(actor: AuthUser | null): AuthUser {
  if (!actor) {
    throw new ForbiddenError('This action needs a signed-in user.');
  }
  return actor;
}

export async function findItem(db: DbOrTx, queueId: string, itemId: number): Promise<ItemRow | undefined> {
  const [row] = await selectItems(db)
    .where(and(eq(sessionQueue.queueId, queueId), eq(sessionQueue.itemId, itemId)))
    .limit(1);
  return row;
}

/**
 * An item the actor may change: 404 when it does not exist, 403 when it is another user's and the actor is
 * not an admin.
 */
export async function itemForChange(
  db: DbOrTx,
  actor: AuthUser,
  queueId: string,
  itemId: number,
): Promise<ItemRow> {
  assertQueue(queueId);
  const row = await findItem(db, queueId, itemId);
  if (!row) {
    throw new NotFoundError('Queue item', String(itemId));
  }
  if (!actor.isAdmin && row.userId !== actor.userId) {
    throw new ForbiddenError(`Queue item ${itemId} belongs to another user.`);
  }
  return row;
}
