import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/core/database-away.ts';
import { rowsOf } from '../../src/db/rows.ts';
import type { Database } from '../../src/db/types.ts';
import { openPostgres } from '../../src/node/postgres-client.ts';
import { PG_ADMIN_URL } from '../helpers/database.ts';
import { TcpProxy } from './tcp-proxy.ts';

// A transaction whose connection is cut (PostgreSQL restarting, a reset socket) must fail, and must leave
// the pool working once the database is back (src/node/postgres-transactions.ts says what postgres.js does
// without the guard: an uncaught exception, then every later query on that connection waits forever).
const BOUND_MS = 10_000;

/** `promise`, or a failure naming what did not settle within the bound (a hang is the fault tested). */
function settles<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${BOUND_MS} ms`)), BOUND_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * How a promise settled: 'resolved', 'database away' (the driver's connection error: `ECONNRESET` or
 * `CONNECTION_CLOSED`, whichever of the socket's error and close it saw first), or the error itself.
 */
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (isDatabaseUnavailable(e) ? 'database away' : e),
  );

describe('a transaction cut by a lost connection', () => {
  let proxy: TcpProxy;
  let database: Database;

  beforeEach(async () => {
    proxy = await TcpProxy.start(Number(new URL(PG_ADMIN_URL).port || 5432));
    const url = new URL(PG_ADMIN_URL);
    url.port = String(proxy.port);
    // One connection: the one the cut transaction held is the one every later query needs.
    database = openPostgres(url.toString(), { max: 1 });
    await database.db.execute(sql`SELECT 1`);
  });

  afterEach(async () => {
    await proxy.restore().catch(() => {});
    await database.close();
    await proxy.close();
  });

  /** After a cut: restores, and checks the pool answers again (twice: the same connection). */
  async function restoreAndCheck(tx: Promise<unknown>, expected: string) {
    await proxy.restore();
    expect(await settles(outcome(tx), 'the cut transaction')).toBe(expected);
    for (const n of [1, 2]) {
      const rows = await settles(database.db.execute(sql`SELECT ${n}::int AS n`), `query ${n} after the cut`);
      expect(rowsOf(rows)).toEqual([{ n }]);
    }
  }

  /** A transaction that ran a statement and waits for `resume` (then runs `after`, if given). */
  function pausedTransaction(after?: string) {
    let resume: () => void = () => {};
    const paused = new Promise<void>((r) => {
      resume = r;
    });
    let started: () => void = () => {};
    const inside = new Promise<void>((r) => {
      started = r;
    });
    const tx = database.db.transaction(async (t) => {
      await t.execute(sql`SELECT 1`);
      started();
      await paused;
      if (after) {
        await t.execute(sql.raw(after));
      }
    });
    return { tx, inside, resume };
  }

  it('between its statements: the next one fails and nothing is written to the closed connection', async () => {
    const { tx, inside, resume } = pausedTransaction('SELECT 2');
    await inside;
    await proxy.cut();
    resume();
    await restoreAndCheck(tx, 'database away');
  });

  it('after its last statement: no COMMIT is sent to the closed connection', async () => {
    const { tx, inside, resume } = pausedTransaction();
    await inside;
    await proxy.cut();
    resume();
    await restoreAndCheck(tx, 'database away');
  });

  it('during a statement: it fails and no ROLLBACK is sent to the closed connection', async () => {
    const watcher = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
    try {
      const tx = database.db.transaction(async (t) => {
        await t.execute(sql`SELECT pg_sleep(30) AS cut_me`);
      });
      // Wait until the server runs it (the statement is in flight), then cut.
      for (;;) {
        const [row] = await watcher`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE query LIKE '%cut_me%' AND state = 'active' AND pid <> pg_backend_pid()`;
        if (row?.n === 1) {
          break;
        }
        await watcher`SELECT pg_sleep(0.02)`;
      }
      await proxy.cut();
      await restoreAndCheck(tx, 'database away');
    } finally {
      await watcher`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%cut_me%' AND pid <> pg_backend_pid()`;
      await watcher.end();
    }
  });
});
