import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import type { PgDialect, PgSession } from 'drizzle-orm/pg-core';
import type { DbOrTx } from '../core/db.ts';

/**
 * Runs raw SQL as a prepared statement where the driver has them (postgres.js keeps one per connection and
 * statement text; PGlite runs it as it is). Drizzle's public `execute` always sends unnamed statements,
 * which PostgreSQL parses and plans on every call: for a hot, complex statement such as the queue claim
 * that planning is most of the cost. Results come back as from `execute`.
 * @example const result = await executePrepared(db, sql`SELECT …`);
 */
export function executePrepared(db: DbOrTx, query: SQL): Promise<unknown> {
  // Drizzle keeps its dialect and session on every database and transaction object.
  const { dialect, session } = db as unknown as { dialect: PgDialect; session: PgSession };
  return session.prepareQuery(dialect.sqlToQuery(query), undefined, 'easel', false).execute();
}

/**
 * `executePrepared` for a read on the database itself (never a transaction), with a shortcut on PGlite:
 * the client's own `query` costs about half of what Drizzle's PGlite session adds around it (measured
 * ~200 vs ~450 µs of CPU for a one-row read). Rows come back without Drizzle's type parsers, so read
 * only text, numbers and booleans with it.
 * @example const rows = rowsOf<{ version: string }>(await queryPrepared(db, sql`SELECT …`));
 */
export function queryPrepared(db: DbOrTx, query: SQL): Promise<unknown> {
  const client = (db as { $client?: unknown }).$client;
  if (client instanceof PGlite) {
    const { dialect } = db as unknown as { dialect: PgDialect };
    const { sql: text, params } = dialect.sqlToQuery(query);
    return client.query(text, params);
  }
  return executePrepared(db, query);
}
