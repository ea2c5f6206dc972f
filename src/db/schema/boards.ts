import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Named groups of one user's images. No foreign key to `users`: a deleted user's boards stay, like their
 * images. The cover is the newest image, found when listing.
 */
export const boards = pgTable(
  'boards',
  {
    boardId: text('board_id').primaryKey(),
    boardName: text('board_name').notNull(),
    userId: text('user_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('boards_user_created_idx').on(t.userId, t.createdAt.desc().nullsFirst(), t.boardId)],
);

export type BoardRow = typeof boards.$inferSelect;
