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
