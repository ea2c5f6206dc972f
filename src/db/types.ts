import type { Db } from '../core/db.ts';
import type { Notifier } from '../core/notifier.ts';

/** A database handle and the way to release it. */
export interface Database {
  db: Db;
  driver: 'pglite' | 'postgres';
  /** LISTEN/NOTIFY on this database (revocations, and the channel log, reach every process through it). */
  notifier?: Notifier;
  close(): Promise<void>;
}
