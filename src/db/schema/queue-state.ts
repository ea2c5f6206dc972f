import { boolean, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Per-queue state every process shares and a restart keeps: pause/resume (API.md section 8). */
export const queueState = pgTable('queue_state', {
  queueId: text('queue_id').primaryKey(),
  paused: boolean('paused').notNull().default(false),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
});
