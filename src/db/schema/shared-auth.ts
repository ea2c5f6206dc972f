import { bigint, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Event-stream tickets (API.md section 5), shared so a ticket issued by one process works on any other.
 * Only a hash of the ticket is stored; consuming it deletes the row (`DELETE … RETURNING`), so it is single
 * use across processes.
 */
export const sseTickets = pgTable(
  'sse_tickets',
  {
    ticketHash: text('ticket_hash').primaryKey(),
    userId: text('user_id').notNull(),
    /** The `TicketHolder`: the user as authenticated (ids and token claims, checked again on use; never a token). */
    holder: jsonb('holder').$type<Record<string, unknown>>().notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('sse_tickets_expires_at_idx').on(t.expiresAt)],
);

/**
 * Failed logins per email and client (a SHA-256 of `LoginRateLimiter.key`), one row per failure, counted across processes
 * in the same sliding 15-minute window as the in-memory limiter.
 */
export const loginFailures = pgTable(
  'login_failures',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    key: text('key').notNull(),
    failedAt: timestamp('failed_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    index('login_failures_key_idx').on(t.key, t.failedAt),
    index('login_failures_at_idx').on(t.failedAt),
  ],
);
