import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import type { DbOrTx } from '../../src/core/db.ts';
import { queueReadCacheOf } from '../../src/queue/counts-cache.ts';
import { queueAndUserCounts } from '../../src/queue/status-counts.ts';
import { testDriver } from '../helpers/database.ts';
import { databaseTest as test } from '../helpers/fixtures.ts';

const it = test;

async function insertPending(db: DbOrTx, userId: string, n = 1) {
  await db.execute(sql`INSERT INTO session_queue
    (queue_id, batch_id, session_id, status, priority, session, created_at, updated_at, user_id)
    SELECT 'default', 'b', 's' || g, 'pending', 0, '{}'::jsonb, now(), now(), ${userId}
    FROM generate_series(1, ${n}) g`);
}

/** The pending counts of the queue and of `u1`, as `GET …/status` answers them. */
async function pending(db: DbOrTx) {
  const { queue, mine } = await queueAndUserCounts(db, 'default', 'u1');
  return { queue: queue.pending, mine: mine.pending };
}

describe.runIf(testDriver() === 'pglite')('queue status counts on PGlite', () => {
  it('are kept until a write to the queue commits; a write without the notice shows it is the kept answer', async ({
    database,
  }) => {
    const { db } = database;
    await queueReadCacheOf(db)?.ready;
    await db.execute(sql`DELETE FROM session_queue`);
    await insertPending(db, 'u1');
    expect(await pending(db)).toEqual({ queue: 1, mine: 1 });
    // Written with the trigger's notice off: the database has 3 pending, the kept answer still 1.
    await db.execute(sql`SET easel.notify_queue_changes = 'off'`);
    await insertPending(db, 'u2', 2);
    await db.execute(sql`SET easel.notify_queue_changes = 'on'`);
    expect(await pending(db)).toEqual({ queue: 1, mine: 1 });
    // A write that rolls back notifies nothing: still the kept answer.
    await expect(
      db.transaction(async (tx) => {
        await insertPending(tx, 'u1');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await pending(db)).toEqual({ queue: 1, mine: 1 });
    // A committed write (any statement on the queue) ends it: the next answer is the database's.
    await db.execute(sql`UPDATE session_queue SET priority = 0 WHERE false`);
    expect(await pending(db)).toEqual({ queue: 3, mine: 1 });
    await insertPending(db, 'u1');
    expect(await pending(db)).toEqual({ queue: 4, mine: 2 });
  });

  it('are never kept inside a transaction, whose reads see its own writes', async ({ database }) => {
    const { db } = database;
    await queueReadCacheOf(db)?.ready;
    await db.execute(sql`DELETE FROM session_queue`);
    expect(await pending(db)).toEqual({ queue: 0, mine: 0 });
    await db.transaction(async (tx) => {
      expect(queueReadCacheOf(tx)).toBeUndefined();
      await insertPending(tx, 'u1');
      expect(await pending(tx)).toEqual({ queue: 1, mine: 1 });
    });
    expect(await pending(db)).toEqual({ queue: 1, mine: 1 });
  });
});

describe.runIf(testDriver() === 'postgres')('queue status counts on PostgreSQL', () => {
  it('are read every time: other processes write too', async ({ database }) => {
    const { db } = database;
    expect(queueReadCacheOf(db)).toBeUndefined();
    await insertPending(db, 'u1');
    expect(await pending(db)).toEqual({ queue: 1, mine: 1 });
    await insertPending(db, 'u1');
    expect(await pending(db)).toEqual({ queue: 2, mine: 2 });
  });
});
