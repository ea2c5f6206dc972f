import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';

/** A Drizzle database on either driver (postgres.js or PGlite); queries are built, not relational. */
export type Db = PgDatabase<PgQueryResultHKT>;
/** A transaction on either driver. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** What services accept: the database or an open transaction. */
export type DbOrTx = Db | Tx;
