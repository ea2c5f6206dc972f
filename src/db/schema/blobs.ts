import { customType, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** PostgreSQL `bytea` as a `Uint8Array` on both drivers (postgres.js gives a `Buffer`, PGlite a `Uint8Array`). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength),
});

/**
 * Image and thumbnail bytes when `BLOB_STORE=postgres` (API.md section 8): keyed like the files of the
 * `fs` store (`images/<name>`, `thumbnails/<name>`), so processes on several machines share nothing but the
 * database. Unused with `BLOB_STORE=fs`.
 */
export const blobs = pgTable('blobs', {
  key: text('key').primaryKey(),
  bytes: bytea('bytes').notNull(),
  size: integer('size').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});
