import { bigint, index, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The newest event id of each channel (a user id, or `anonymous`). Writers bump it in their transaction
 * (`UPDATE … SET last_id = last_id + 1 RETURNING last_id`), which serialises a channel's writers so its ids
 * commit in order (docs/adr/0004-channel-log.md). Never deleted: ids keep increasing across prunes and
 * restarts.
 */
export const channelHeads = pgTable('channel_heads', {
  userId: text('user_id').primaryKey(),
  lastId: bigint('last_id', { mode: 'number' }).notNull(),
});

/**
 * Every channel event (API.md section 5) with its id in the channel, for every process's streams and for
 * `Last-Event-ID` replay. `owner` is the user whose item it is (null: queue-wide); an admin's copies carry the
 * item owner's id, so a demoted admin's replay can leave them out.
 */
export const channelLog = pgTable(
  'channel_log',
  {
    userId: text('user_id').notNull(),
    id: bigint('id', { mode: 'number' }).notNull(),
    queueId: text('queue_id').notNull(),
    event: text('event').notNull(),
    owner: text('owner'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.id] }), index('channel_log_created_at_idx').on(t.createdAt)],
);

export type ChannelLogRow = typeof channelLog.$inferSelect;
