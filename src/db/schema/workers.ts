import { bigint, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const WORKER_STATES = ['idle', 'busy'] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

/**
 * One row per worker of any process (API.md section 8). `last_seen_at` is the heartbeat: a worker not seen
 * for longer than its lease plus a margin is listed as `gone`. `busy_since` is when the current item started,
 * so `busy_ms` can be added when it ends.
 */
export const workers = pgTable('workers', {
  workerId: text('worker_id').primaryKey(),
  nodeId: text('node_id').notNull(),
  device: text('device').notNull(),
  state: text('state').$type<WorkerState>().notNull().default('idle'),
  itemId: integer('item_id'),
  startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'date' }).notNull(),
  busySince: timestamp('busy_since', { withTimezone: true, mode: 'date' }),
  itemsDone: integer('items_done').notNull().default(0),
  busyMs: bigint('busy_ms', { mode: 'number' }).notNull().default(0),
});

export type WorkerRow = typeof workers.$inferSelect;
