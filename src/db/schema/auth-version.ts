import { bigint, integer, pgTable } from 'drizzle-orm/pg-core';

/**
 * One row (`id` 1) whose `version` grows in every transaction that changes what a token check reads: a
 * logged-out session, and a user's `epoch`, `is_active`, `is_admin` or `email` changed or the user deleted.
 * Triggers bump it (migrations 0007, 0008), so no writer can forget to. Processes cache identities against it
 * (docs/adr/0008-identity-cache-with-a-database-version.md).
 */
export const authVersion = pgTable('auth_version', {
  id: integer('id').primaryKey(),
  version: bigint('version', { mode: 'number' }).notNull(),
});
