import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { Sql } from 'postgres';
import type { DbOrTx } from '../../src/core/db.ts';
import type { Notifier } from '../../src/core/notifier.ts';
import { pgliteNotifier } from '../../src/db/pglite-notify.ts';
import { rowsOf } from '../../src/db/rows.ts';
import type { Database } from '../../src/db/types.ts';
import { postgresNotifier } from '../../src/node/pg-notify.ts';
import { openPostgres } from '../../src/node/postgres-client.ts';
import { onQueueChange, type QueueNotice } from '../../src/worker/wakeup.ts';
import { PG_ADMIN_URL } from './database.ts';
import type { Harness } from './harness.ts';

const T0 = Date.parse('2026-12-01T12:00:00.000Z');

/** Inserts pending items for a user straight into `session_queue`; returns their ids in insert order. */
export async function insertItems(
  db: DbOrTx,
  userId: string,
  count: number,
  opts: { priority?: number; queueId?: string } = {},
): Promise<number[]> {
  const at = new Date(T0).toISOString();
  const rows = rowsOf<{ item_id: number }>(
    await db.execute(sql`INSERT INTO session_queue
      (queue_id, batch_id, session_id, status, priority, session, created_at, updated_at, user_id)
      SELECT ${opts.queueId ?? 'default'}, 'b', 's' || g, 'pending', ${opts.priority ?? 0}, '{}'::jsonb,
        ${at}::timestamptz, ${at}::timestamptz, ${userId}
      FROM generate_series(1, ${count}) g ORDER BY g
      RETURNING item_id`),
  );
  return rows.map((r) => Number(r.item_id)).sort((a, b) => a - b);
}

/** A clock starting at a fixed instant that tests move by hand. */
export class StepClock {
  #t = T0;
  now(): Date {
    return new Date(this.#t);
  }
  advance(ms: number): Date {
    this.#t += ms;
    return this.now();
  }
}

/** One row of `session_queue` as the tests check it. */
export async function itemState(db: DbOrTx, itemId: number | undefined) {
  const [row] = rowsOf<Record<string, unknown>>(
    await db.execute(sql`SELECT status, worker_id, device, lease_expires_at, interruptions, error_type
      FROM session_queue WHERE item_id = ${itemId ?? -1}`),
  );
  return row
    ? {
        status: row.status as string,
        workerId: (row.worker_id ?? null) as string | null,
        device: (row.device ?? null) as string | null,
        leaseExpiresAt: row.lease_expires_at ? new Date(row.lease_expires_at as string).toISOString() : null,
        interruptions: Number(row.interruptions),
        errorType: (row.error_type ?? null) as string | null,
      }
    : undefined;
}

/** A promise and the function that settles it (to hold a transaction open until a test says so). */
export function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The `Notifier` of a test database, on its driver. */
export function testNotifier(database: Database): Notifier {
  const client = (database.db as unknown as { $client: unknown }).$client;
  return database.driver === 'pglite' ? pgliteNotifier(client as PGlite) : postgresNotifier(client as Sql);
}

/** Collects the queue notices any process sends, for a test to wait on. */
export async function collectQueueNotices(database: Database) {
  const notices: QueueNotice[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  const stop = await onQueueChange(testNotifier(database), (n) => {
    notices.push(n);
    if (waiter && notices.length >= waiter.n) {
      waiter.resolve();
    }
  });
  return {
    notices,
    stop,
    /** Resolves once `n` notices arrived. */
    until(n: number): Promise<void> {
      return notices.length >= n
        ? Promise.resolve()
        : new Promise((resolve) => {
            waiter = { n, resolve };
          });
    },
  };
}

/**
 * The same database as `h`, through a new connection (PostgreSQL: its own pool and LISTEN connection, as a
 * second process has) or the same client (PGlite, one process), with a notifier either way.
 * @example const b = await createHarness({ database: await secondConnection(a) });
 */
export async function secondConnection(h: Harness): Promise<Database> {
  if (h.driver === 'pglite') {
    const shared: Database = { db: h.db, driver: 'pglite', close: async () => {} };
    return { ...shared, notifier: testNotifier(shared) };
  }
  const [row] = rowsOf<{ name: string }>(await h.db.execute(sql`SELECT current_database() AS name`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${row?.name}`;
  return openPostgres(url.toString(), { max: 4 });
}
