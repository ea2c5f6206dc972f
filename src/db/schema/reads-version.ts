import { bigint, pgTable, smallint } from 'drizzle-orm/pg-core';

/**
 * Sixty-four counters whose sum grows in every transaction that writes `session_queue`, `images` or
 * `queue_state` (migration 0013's trigger adds one to a slot no other open transaction holds, once per
 * transaction). Processes keep the reads of the queue's counts, its first page and a gallery's first page
 * against that sum (`QueueReadCache`, docs/adr/0008-identity-cache-with-a-database-version.md, 7). Slots
 * rather than one row, so that workers committing at the same time never wait on each other.
 */
export const readsVersion = pgTable('reads_version', {
  slot: smallint('slot').primaryKey(),
  version: bigint('version', { mode: 'number' }).notNull().default(0),
});
