import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema/index.ts';

export type Schema = typeof schema;
/** A Drizzle database on either driver (postgres.js or PGlite). */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A transaction on either driver. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** What services accept: the database or an open transaction. */
export type DbOrTx = Db | Tx;

/** A database handle and the way to release it. */
export interface Database {
  db: Db;
  driver: 'pglite' | 'postgres';
  close(): Promise<void>;
}
