import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { rowsOf } from '../../src/db/rows.ts';
import type { Database } from '../../src/db/types.ts';
import { claimNext } from '../../src/worker/claim.ts';
import { finishItem, type LeaseRef, renewLease, requeueLapsed } from '../../src/worker/leases.ts';
import { collectQueueNotices, insertItems, itemState } from '../helpers/cluster.ts';
import { testDriver } from '../helpers/database.ts';
import { databaseTest as test } from '../helpers/fixtures.ts';

const it = test;

const T = (s: number) => new Date(Date.parse('2026-12-01T12:00:00.000Z') + s * 1000);

test.beforeEach(async ({ database }) => {
  await database.db.execute(sql`TRUNCATE session_queue, queue_user_turns, queue_state`);
});

/** Claims the next item for `workerId` at second `s`, lease 30 s; returns its lease. */
async function claimAt(
  database: Database,
  s: number,
  workerId = 'w1',
  queueId = 'default',
): Promise<LeaseRef> {
  const item = await claimNext(database.db, {
    queueId,
    fairness: 'fifo',
    workerId,
    device: 'cpu',
    now: T(s),
    leaseSeconds: 30,
  });
  if (!item) {
    throw new Error('nothing to claim');
  }
  return { itemId: item.itemId, workerId };
}

describe('renewLease', () => {
  it('extends the lease while held, refuses another worker, and refuses once lapsed', async ({
    database,
  }) => {
    const [id] = await insertItems(database.db, 'A', 1);
    const lease = await claimAt(database, 0);
    expect(lease.itemId).toBe(id);
    expect(await renewLease(database.db, lease, T(10), 30)).toBe(true);
    expect((await itemState(database.db, id))?.leaseExpiresAt).toBe(T(40).toISOString());
    expect(await renewLease(database.db, { itemId: id as number, workerId: 'w2' }, T(11), 30)).toBe(false);
    expect((await itemState(database.db, id))?.leaseExpiresAt).toBe(T(40).toISOString());
    // At the instant it lapses, it is lost (and stays as it was until some process re-queues it).
    expect(await renewLease(database.db, lease, T(40), 30)).toBe(false);
    expect(await itemState(database.db, id)).toEqual({
      status: 'in_progress',
      workerId: 'w1',
      device: 'cpu',
      leaseExpiresAt: T(40).toISOString(),
      interruptions: 0,
      errorType: null,
    });
  });

  it('refuses a canceled item', async ({ database }) => {
    const [id] = await insertItems(database.db, 'A', 1);
    const lease = await claimAt(database, 0);
    await database.db.execute(sql`UPDATE session_queue SET status = 'canceled' WHERE item_id = ${id}`);
    expect(await renewLease(database.db, lease, T(5), 30)).toBe(false);
  });
});

describe('finishItem', () => {
  it('completes a held item, releases the lease, keeps worker and device; a second finish is refused', async ({
    database,
  }) => {
    const [id] = await insertItems(database.db, 'A', 1);
    const lease = await claimAt(database, 0);
    const done = await finishItem(database.db, lease, { status: 'completed' }, T(20));
    expect(done).toMatchObject({
      itemId: id,
      status: 'completed',
      completedAt: T(20),
      updatedAt: T(20),
      workerId: 'w1',
      device: 'cpu',
      leaseExpiresAt: null,
    });
    expect(await finishItem(database.db, lease, { status: 'failed' }, T(21))).toBeUndefined();
    expect((await itemState(database.db, id))?.status).toBe('completed');
  });

  it('writes the error of a failed run', async ({ database }) => {
    await insertItems(database.db, 'A', 1);
    const lease = await claimAt(database, 0);
    const done = await finishItem(
      database.db,
      lease,
      { status: 'failed', errorType: 'ValueError', errorMessage: 'bad', errorTraceback: 'tb' },
      T(5),
    );
    expect(done).toMatchObject({
      status: 'failed',
      errorType: 'ValueError',
      errorMessage: 'bad',
      errorTraceback: 'tb',
    });
  });

  it('a worker whose lease lapsed cannot complete the item, before or after it is re-queued and reclaimed', async ({
    database,
  }) => {
    const [id] = await insertItems(database.db, 'A', 1);
    const old = await claimAt(database, 0, 'w1');
    expect(await finishItem(database.db, old, { status: 'completed' }, T(30))).toBeUndefined();
    expect((await itemState(database.db, id))?.status).toBe('in_progress');
    await requeueLapsed(database.db, T(31));
    const fresh = await claimAt(database, 32, 'w2');
    expect(fresh.itemId).toBe(id);
    expect(await finishItem(database.db, old, { status: 'completed' }, T(33))).toBeUndefined();
    expect(await renewLease(database.db, old, T(33), 30)).toBe(false);
    expect((await finishItem(database.db, fresh, { status: 'completed' }, T(34)))?.workerId).toBe('w2');
  });
});

describe('requeueLapsed', () => {
  it('re-queues only lapsed leases, counting an interruption, and says what it changed', async ({
    database,
  }) => {
    const heard = await collectQueueNotices(database);
    const [x, y] = await insertItems(database.db, 'A', 2);
    const lx = await claimAt(database, 0, 'w1');
    const ly = await claimAt(database, 10, 'w2');
    expect([lx.itemId, ly.itemId]).toEqual([x, y]);
    expect(await requeueLapsed(database.db, T(29))).toEqual({ requeued: [], failed: [] });
    const out = await requeueLapsed(database.db, T(30));
    expect(out.failed).toEqual([]);
    expect(
      out.requeued.map((r) => [r.item.itemId, r.item.status, r.item.interruptions, r.previousWorkerId]),
    ).toEqual([[x, 'pending', 1, 'w1']]);
    expect(out.requeued[0]?.item).toMatchObject({
      startedAt: null,
      workerId: null,
      device: null,
      updatedAt: T(30),
    });
    expect(await itemState(database.db, x)).toEqual({
      status: 'pending',
      workerId: null,
      device: null,
      leaseExpiresAt: null,
      interruptions: 1,
      errorType: null,
    });
    expect((await itemState(database.db, y))?.status).toBe('in_progress');
    expect(await requeueLapsed(database.db, T(30))).toEqual({ requeued: [], failed: [] });
    // One notice, for the one call that re-queued something.
    await heard.until(1);
    await database.db.execute(
      sql`SELECT pg_notify('easel_queue', '{"queue_id":"marker","change":"enqueued"}')`,
    );
    await heard.until(2);
    await heard.stop();
    expect(heard.notices).toEqual([
      { queue_id: 'default', change: 'requeued' },
      { queue_id: 'marker', change: 'enqueued' },
    ]);
  });

  it('fails an item on its third interruption', async ({ database }) => {
    const [id] = await insertItems(database.db, 'A', 1);
    for (const [s, expected] of [
      [0, 'pending'],
      [100, 'pending'],
      [200, 'failed'],
    ] as const) {
      await claimAt(database, s);
      const out = await requeueLapsed(database.db, T(s + 31));
      const all = [...out.requeued, ...out.failed].map((r) => [r.item.itemId, r.item.status]);
      expect(all).toEqual([[id, expected]]);
    }
    expect(await itemState(database.db, id)).toEqual({
      status: 'failed',
      workerId: 'w1',
      device: 'cpu',
      leaseExpiresAt: null,
      interruptions: 3,
      errorType: 'interrupted',
    });
    const [row] = rowsOf<{ error_message: string; completed_at: string }>(
      await database.db.execute(
        sql`SELECT error_message, completed_at FROM session_queue WHERE item_id = ${id}`,
      ),
    );
    expect(row?.error_message).toBe("The item's worker stopped while it ran, 3 times.");
    expect(new Date(row?.completed_at ?? 0).toISOString()).toBe(T(231).toISOString());
  });

  it('re-queues an item left running without a lease, and with ignoreLeases every running item', async ({
    database,
  }) => {
    const [legacy, leased] = await insertItems(database.db, 'A', 2);
    await database.db.execute(sql`UPDATE session_queue SET status = 'in_progress' WHERE item_id = ${legacy}`);
    await claimAt(database, 0);
    expect((await requeueLapsed(database.db, T(1))).requeued.map((r) => r.item.itemId)).toEqual([legacy]);
    expect((await itemState(database.db, leased))?.status).toBe('in_progress');
    const out = await requeueLapsed(database.db, T(2), { ignoreLeases: true });
    expect(out.requeued.map((r) => r.item.itemId)).toEqual([leased]);
  });

  it('only touches the given queue', async ({ database }) => {
    const [a] = await insertItems(database.db, 'A', 1, { queueId: 'q1' });
    const [b] = await insertItems(database.db, 'A', 1, { queueId: 'q2' });
    await claimAt(database, 0, 'w1', 'q1');
    await claimAt(database, 0, 'w2', 'q2');
    expect(
      (await requeueLapsed(database.db, T(60), { queueId: 'q2' })).requeued.map((r) => r.item.itemId),
    ).toEqual([b]);
    expect((await itemState(database.db, a))?.status).toBe('in_progress');
  });

  it.runIf(testDriver() === 'postgres')(
    'two processes re-queuing at once count each lapse once',
    async ({ database }) => {
      const ids = await insertItems(database.db, 'A', 60);
      for (let i = 0; i < ids.length; i++) {
        await claimAt(database, 0, `w${i}`);
      }
      const [one, two] = await Promise.all([
        requeueLapsed(database.db, T(31)),
        requeueLapsed(database.db, T(31)),
      ]);
      const changed = [...(one?.requeued ?? []), ...(two?.requeued ?? [])].map((r) => r.item.itemId);
      expect(changed.sort((p, q) => p - q)).toEqual(ids);
      const counts = rowsOf<{ interruptions: number; n: number }>(
        await database.db.execute(
          sql`SELECT interruptions, count(*)::int AS n FROM session_queue WHERE status = 'pending' GROUP BY 1`,
        ),
      );
      expect(counts).toEqual([{ interruptions: 1, n: 60 }]);
    },
  );
});
