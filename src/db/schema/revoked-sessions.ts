import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Login sessions (`sid`) revoked by logout, kept until every token of the session would have expired anyway.
 * A token from before sessions existed is a session of its own whose `sid` is its `jti` (`sessionOf`), so the
 * token ids logged out before migration 0008 are rows here too.
 */
export const revokedSessions = pgTable(
  'revoked_sessions',
  {
    sid: text('sid').primaryKey(),
    userId: text('user_id').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('revoked_sessions_expires_at_idx').on(t.expiresAt)],
);
