import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export const QUEUE_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'canceled'] as const;
export type QueueStatus = (typeof QUEUE_STATUSES)[number];

/**
 * One session of a batch. No foreign key to `users`: a deleted owner's items stay, with their `user_id`.
 */
export const sessionQueue = pgTable(
  'session_queue',
  {
    itemId: integer('item_id').primaryKey().generatedAlwaysAsIdentity(),
    queueId: text('queue_id').notNull(),
    batchId: text('batch_id').notNull(),
    sessionId: text('session_id').notNull(),
    status: text('status').$type<QueueStatus>().notNull().default('pending'),
    priority: integer('priority').notNull().default(0),
    fieldValues: jsonb('field_values').$type<unknown[] | null>(),
    session: jsonb('session').$type<Record<string, unknown>>().notNull(),
    workflow: jsonb('workflow').$type<unknown>(),
    origin: text('origin'),
    destination: text('destination'),
    errorType: text('error_type'),
    errorMessage: text('error_message'),
    errorTraceback: text('error_traceback'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }),
    completedAt: timestamp('completed_at', { withTimezone: true, mode: 'date' }),
    userId: text('user_id').notNull(),
    retriedFromItemId: integer('retried_from_item_id'),
    interruptions: integer('interruptions').notNull().default(0),
    /** The worker that claimed the item (API.md section 8): null until claimed. */
    workerId: text('worker_id'),
    device: text('device'),
    /** Until when the claiming worker holds the item; it renews while running. Null when not running. */
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    // `priority DESC` indexes are NULLS FIRST, as `ORDER BY priority DESC` is: drizzle's bare `.desc()` makes
    // them NULLS LAST, which PostgreSQL cannot use for that order (it sorted the whole queue instead).
    // Listing order (and the cursor): priority desc, item_id asc.
    index('session_queue_list_idx').on(t.queueId, t.priority.desc().nullsFirst(), t.itemId),
    // fifo dequeue: only pending rows.
    index('session_queue_pending_idx')
      .on(t.queueId, t.priority.desc().nullsFirst(), t.itemId)
      .where(sql`${t.status} = 'pending'`),
    // round_robin dequeue: a user's next pending item.
    index('session_queue_user_pending_idx')
      .on(t.queueId, t.userId, t.priority.desc().nullsFirst(), t.itemId)
      .where(sql`${t.status} = 'pending'`),
    // per-user counts and `user=me` lists.
    index('session_queue_user_status_idx').on(t.queueId, t.userId, t.status),
    index('session_queue_status_idx').on(t.queueId, t.status),
    index('session_queue_batch_idx').on(t.queueId, t.batchId),
    // lapsed leases: only running rows.
    index('session_queue_lease_idx').on(t.leaseExpiresAt).where(sql`${t.status} = 'in_progress'`),
  ],
);

/** When each user of a queue last had an item started: the round-robin turn order. */
export const queueUserTurns = pgTable(
  'queue_user_turns',
  {
    queueId: text('queue_id').notNull(),
    userId: text('user_id').notNull(),
    lastStartedAt: timestamp('last_started_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.queueId, t.userId] })],
);

export type QueueRow = typeof sessionQueue.$inferSelect;
