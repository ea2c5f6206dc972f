import { type AnyColumn, eq, getTableColumns, type SQL, sql } from 'drizzle-orm';
import type { AuthUser } from '../core/actor.ts';
import type { DbOrTx } from '../core/db.ts';
import { executePrepared } from '../db/prepared.ts';
import { rowsOf } from '../db/rows.ts';
import { type QueueRow, sessionQueue, users } from '../db/schema/index.ts';
import type { QueueItem } from './schemas.ts';

/** The columns of every queue read: the item and its owner's names from a LEFT JOIN to `users`. */
export const itemColumns = {
  ...getTableColumns(sessionQueue),
  userDisplayName: users.displayName,
  userEmail: users.email,
};

export type ItemRow = QueueRow & { userDisplayName: string | null; userEmail: string | null };

/**
 * The base of every queue read: items LEFT JOIN users, so a deleted owner gives null names and never drops
 * the row.
 * @example const rows = await selectItems(db).where(eq(sessionQueue.itemId, id));
 */
export const selectItems = (db: DbOrTx) =>
  db.select(itemColumns).from(sessionQueue).leftJoin(users, eq(users.userId, sessionQueue.userId));

/** `column` where `viewer` owns the row, else null (decoded as the column is, named as the column is). */
const ownOnly = (column: AnyColumn, viewer: string) =>
  sql`CASE WHEN ${sessionQueue.userId} = ${viewer} THEN ${column} END`.mapWith(column).as(column.name);

/**
 * `selectItems` for rows that `redactFor(viewer, …)` will redact: for a viewer who is not an admin, the
 * large fields that redaction drops (the session graph, the workflow, the field values, the traceback) are
 * read only for the viewer's own items (null on others'), so others' items neither cross the wire from the
 * database nor get parsed: most of the time of `list?limit=50` on a queue of others' items (issue 15).
 * Redaction itself stays in `redactFor`; this only spares reading what it throws away. The rows are typed
 * as `selectItems`' rows, but the four fields are null on others' items: pass every row through
 * `redactFor`.
 * @example const rows = await selectItemsFor(db, actor).where(eq(sessionQueue.queueId, 'default'));
 */
export const selectItemsFor = (db: DbOrTx, viewer: AuthUser) => {
  const columns = viewer.isAdmin
    ? itemColumns
    : ({
        ...itemColumns,
        session: ownOnly(sessionQueue.session, viewer.userId),
        workflow: ownOnly(sessionQueue.workflow, viewer.userId),
        fieldValues: ownOnly(sessionQueue.fieldValues, viewer.userId),
        errorTraceback: ownOnly(sessionQueue.errorTraceback, viewer.userId),
      } as unknown as typeof itemColumns);
  return db.select(columns).from(sessionQueue).leftJoin(users, eq(users.userId, sessionQueue.userId));
};

/** Each `ItemRow` field, the name of its result column and the column that decodes it. */
const itemFields = Object.entries(itemColumns).map(([key, column]) => ({ key, name: column.name, column }));

/**
 * Runs a `selectItems`/`selectItemsFor` query (with its where, order and limit, or a union of them) and
 * decodes its rows into `ItemRow`s with each column's own decoder, as Drizzle does, but without Drizzle's
 * per-field dispatch over the result: that cost more than the rest of `list?limit=50` on PostgreSQL
 * (issue 15). The result columns are named as the table's (`selectItemsFor` names its expressions so).
 * @example const rows = await executeItems(db, selectItems(db).where(eq(sessionQueue.queueId, 'default')));
 */
export async function executeItems(db: DbOrTx, query: { getSQL(): SQL }): Promise<ItemRow[]> {
  const raw = rowsOf<Record<string, unknown>>(await executePrepared(db, query.getSQL()));
  return raw.map((r) => {
    const row: Record<string, unknown> = {};
    for (const { key, name, column } of itemFields) {
      const value = r[name];
      row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
    }
    return row as ItemRow;
  });
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A row as the owner and admins see it. */
export function toQueueItem(row: ItemRow): QueueItem {
  return {
    item_id: row.itemId,
    queue_id: row.queueId,
    batch_id: row.batchId,
    session_id: row.sessionId,
    status: row.status,
    priority: row.priority,
    origin: row.origin,
    destination: row.destination,
    field_values: row.fieldValues ?? null,
    session: row.session,
    workflow: row.workflow ?? null,
    error_type: row.errorType,
    error_message: row.errorMessage,
    error_traceback: row.errorTraceback,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    started_at: iso(row.startedAt),
    completed_at: iso(row.completedAt),
    retried_from_item_id: row.retriedFromItemId,
    worker_id: row.workerId ?? null,
    device: row.device ?? null,
    user_id: row.userId,
    user_display_name: row.userDisplayName,
    user_email: row.userEmail,
    redacted: false,
  };
}

/** Whether the viewer sees the item whole: its owner or an admin. */
export const canSeeWhole = (viewer: AuthUser | null, ownerId: string) =>
  viewer !== null && (viewer.isAdmin || viewer.userId === ownerId);

/**
 * The one redaction of API.md section 4, applied wherever an item leaves the server: to anyone but its
 * owner and admins, everything that tells what the item is or who owns it beyond the name is null.
 */
export function redactFor(viewer: AuthUser | null, item: QueueItem): QueueItem {
  if (canSeeWhole(viewer, item.user_id)) {
    return item;
  }
  return {
    ...item,
    batch_id: null,
    session_id: null,
    field_values: null,
    session: null,
    workflow: null,
    origin: null,
    destination: null,
    error_type: null,
    error_message: null,
    error_traceback: null,
    retried_from_item_id: null,
    user_email: null,
    redacted: true,
  };
}
