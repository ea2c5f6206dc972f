import type { Db } from '../core/db.ts';

/** A database handle and the way to release it. */
export interface Database {
  db: Db;
  driver: 'pglite' | 'postgres';
  close(): Promise<void>;
}
