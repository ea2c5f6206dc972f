import { sql } from 'drizzle-orm';
import type { Db } from '../core/db.ts';

/**
 * Whether the database answers `SELECT 1` within `timeoutMs` (`/ready`'s database check): false while
 * PostgreSQL restarts or the connection is down; the driver reconnects on a later statement by itself.
 * @example const up = await databaseAnswers(db);
 */
export async function databaseAnswers(db: Db, timeoutMs = 2000): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      db.execute(sql`SELECT 1`).then(
        () => true,
        () => false,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
