import { and, eq, ne, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../core/db.ts';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import { users } from '../../db/schema/index.ts';
import { findUserById, SYSTEM_USER_ID } from './user-dto.ts';

const ADMIN_CHANGES_LOCK = 7312;

/**
 * Locks the target account for a change by an admin, serialising all such changes so two admins cannot
 * demote each other at once. The `system` user cannot be changed (409); an unknown id is 404.
 */
export async function lockUserForChange(tx: DbOrTx, userId: string) {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${ADMIN_CHANGES_LOCK})`);
  if (userId === SYSTEM_USER_ID) {
    throw new ConflictError('The system user cannot be changed or deleted.');
  }
  const row = await findUserById(tx, userId);
  if (!row) {
    throw new NotFoundError('User', userId);
  }
  return row;
}

/** Refuses (409) to remove the last active admin. Call it only when the change removes an active admin. */
export async function assertAnotherActiveAdmin(tx: DbOrTx, userId: string, what: string) {
  const others = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(users)
    .where(and(eq(users.isAdmin, true), eq(users.isActive, true), ne(users.userId, userId)));
  if ((others[0]?.n ?? 0) === 0) {
    throw new ConflictError(`The last active admin cannot be ${what}.`);
  }
}
