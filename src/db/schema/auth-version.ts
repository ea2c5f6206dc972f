import { bigint, integer, pgTable } from 'drizzle-orm/pg-core';

/**
 * One row (`id` 1) whose `version` grows in every transaction that changes what a token check reads: a
 * logged-out session, and a user's `epoch`, `is_active`, `is_admin` or `email` changed or the user deleted.
 * Triggers bump it (migrations 0007, 0008), so no writer can forget to. `users_version` grows in every
 * transaction that writes `users` at all (any column; migration 0010). Processes cache identities against the
 * first and the profiles `GET /auth/me` shows against the second
 * (docs/adr/0008-identity-cache-with-a-database-version.md).
 */
export const authVersion = pgTable('auth_version', {
  id: integer('id').primaryKey(),
  version: bigint('version', { mode: 'number' }).notNull(),
  usersVersion: bigint('users_version', { mode: 'number' }).notNull().default(0),
});
