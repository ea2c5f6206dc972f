import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import type { DbOrTx } from '../../src/core/db.ts';
import { databaseVersionsOf } from '../../src/db/versions.ts';
import { queueReadCacheOf } from '../../src/queue/counts-cache.ts';
import { queueAndUserCounts } from '../../src/queue/status-counts.ts';
import { testDriver, writeUnannounced } from '../helpers/database.ts';
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

describe('queue status counts', () => {
  it('are kept until a write to the queue commits; a write without the notice or the bump shows it is the kept answer', async ({
    database,
  }) => {
    const { db } = database;
    await queueReadCacheOf(db)?.ready;
    await db.execute(sql`DELETE FROM session_queue`);
    await insertPending(db, 'u1');
    expect(await pending(db)).toEqual({ queue: 1, mine: 1 });
    // Written unannounced (PGlite: the trigger's notice off; PostgreSQL: triggers off, a replica session):
    // the database has 3 pending, the kept answer still 1.
    await writeUnannounced(
      db,
      sql`INSERT INTO session_queue
        (queue_id, batch_id, session_id, status, priority, session, created_at, updated_at, user_id)
        SELECT 'default', 'b', 's' || g, 'pending', 0, '{}'::jsonb, now(), now(), 'u2'
        FROM generate_series(1, 2) g`,
    );
    expect(await pending(db)).toEqual({ queue: 1, mine: 1 });
    // A write that rolls back notifies and bumps nothing: still the kept answer.
    await expect(
      db.transaction(async (tx) => {
        await insertPending(tx, 'u1');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await pending(db)).toEqual({ queue: 1, mine: 1 });
    // A committed write (any statement on the queue; on PostgreSQL nothing tells this process but the
    // version) ends it: the next answer is the database's.
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

describe('a kept read', () => {
  it('is not kept when `keep` refuses its value: the next call reads again', async ({ database }) => {
    const { db } = database;
    const cache = queueReadCacheOf(db);
    await cache?.ready;
    let reads = 0;
    const read = async () => `value ${++reads}`;
    const get = (keep: (v: string) => boolean) => cache?.get('keep-test', read, 'all', keep);
    expect([await get(() => false), await get(() => false)]).toEqual(['value 1', 'value 2']);
    expect([await get(() => true), await get(() => true)]).toEqual(['value 3', 'value 3']);
  });
});

/** The sum of migration 0013's slots, as the kept reads compare it (read by a query sent now). */
const readsVersion = async (db: DbOrTx) => BigInt((await databaseVersionsOf(db).current()).readsVersion);

describe.runIf(testDriver() === 'postgres')('queue status counts on PostgreSQL', () => {
  it('read a version that grows once per committed transaction writing the queue, the images or the pause', async ({
    database,
  }) => {
    const { db } = database;
    const start = await readsVersion(db);
    await db.transaction(async (tx) => {
      await insertPending(tx, 'u1');
      await insertPending(tx, 'u1');
      await tx.execute(sql`UPDATE session_queue SET priority = 1`);
    });
    expect(await readsVersion(db)).toBe(start + 1n);
    await db.execute(
      sql`INSERT INTO queue_state (queue_id, paused, updated_at) VALUES ('default', true, now())`,
    );
    expect(await readsVersion(db)).toBe(start + 2n);
    await db.execute(sql`DELETE FROM images`);
    expect(await readsVersion(db)).toBe(start + 3n);
    // Neither a rollback nor a write elsewhere counts.
    await expect(
      db.transaction(async (tx) => {
        await insertPending(tx, 'u1');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await db.execute(sql`UPDATE users SET display_name = display_name`);
    expect(await readsVersion(db)).toBe(start + 3n);
  });

  it('cost concurrent writers no wait on each other: two open transactions both commit', async ({
    database,
  }) => {
    const { db } = database;
    await db.execute(sql`DELETE FROM session_queue`);
    const start = await readsVersion(db);
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let wrote = () => {};
    const written = new Promise<void>((resolve) => {
      wrote = resolve;
    });
    // The first holds its slot until the second committed; were they to share one, the second would wait
    // for the first, which waits for the second.
    const first = db.transaction(async (tx) => {
      await insertPending(tx, 'u1');
      wrote();
      await held;
    });
    await written;
    await db.transaction(async (tx) => {
      await insertPending(tx, 'u2');
    });
    release();
    await first;
    expect(await readsVersion(db)).toBe(start + 2n);
    expect(await pending(db)).toEqual({ queue: 2, mine: 1 });
  });
});
