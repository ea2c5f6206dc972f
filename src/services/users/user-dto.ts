import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../../core/db.ts';
import { type UserRow, users } from '../../db/schema/index.ts';
import type { User } from './schemas.ts';

/** The id of the built-in user that owns anonymous and single-user work. */
export const SYSTEM_USER_ID = 'system';

/** A user row as the API shows it; `max_pending` is the user's own limit or the server default. */
export function toUserDto(
  row: Pick<
    UserRow,
    'userId' | 'email' | 'displayName' | 'isAdmin' | 'isActive' | 'maxPending' | 'createdAt' | 'lastLoginAt'
  >,
  defaultMaxPending: number,
): User {
  return {
    user_id: row.userId,
    email: row.email,
    display_name: row.displayName,
    is_admin: row.isAdmin,
    is_active: row.isActive,
    max_pending: row.maxPending ?? defaultMaxPending,
    created_at: row.createdAt.toISOString(),
    last_login_at: row.lastLoginAt?.toISOString() ?? null,
  };
}

export async function findUserById(db: DbOrTx, userId: string): Promise<UserRow | undefined> {
  // A named statement: planned once per connection.
  const [row] = await db
    .select()
    .from(users)
    .where(eq(users.userId, userId))
    .limit(1)
    .prepare('find_user_by_id')
    .execute();
  return row;
}

/** `display_name` defaults to the part of the email before `@`. */
export const defaultDisplayName = (email: string) => email.split('@')[0] || email;

/** PostgreSQL's unique_violation, on either driver. */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === '23505') {
      return true;
    }
  }
  return false;
}
