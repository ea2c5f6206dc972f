import { boolean, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { boards } from './boards.ts';

/**
 * Finished and uploaded images; the PNG and its thumbnail live in the blob store under the same name. No
 * foreign key to `users` (a deleted user's images stay, with their `user_id`) or to `session_queue` (items
 * are pruned; images stay). Deleting a board leaves its images uncategorized unless they are deleted first.
 */
export const images = pgTable(
  'images',
  {
    imageName: text('image_name').primaryKey(),
    userId: text('user_id').notNull(),
    boardId: text('board_id').references(() => boards.boardId, { onDelete: 'set null' }),
    queueItemId: integer('queue_item_id'),
    sessionId: text('session_id'),
    nodeId: text('node_id'),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    isIntermediate: boolean('is_intermediate').notNull().default(false),
    starred: boolean('starred').notNull().default(false),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    // Listing order is created_at desc, image_name asc. `DESC` indexes are NULLS FIRST to match
    // `ORDER BY created_at DESC` (see session-queue.ts).
    index('images_user_created_idx').on(t.userId, t.createdAt.desc().nullsFirst(), t.imageName),
    // A user's board, or uncategorized (board_id IS NULL).
    index('images_user_board_created_idx').on(
      t.userId,
      t.boardId,
      t.createdAt.desc().nullsFirst(),
      t.imageName,
    ),
    // Board counts, covers and image_names.
    index('images_board_created_idx').on(t.boardId, t.createdAt.desc().nullsFirst(), t.imageName),
  ],
);

export type ImageRow = typeof images.$inferSelect;
