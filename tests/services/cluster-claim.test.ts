import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import type { DbOrTx } from '../../src/core/db.ts';
import { rowsOf } from '../../src/db/rows.ts';
import type { Database } from '../../src/db/types.ts';
import {
  claimCandidateQuery,
  claimNext,
  type Fairness,
  isQueuePaused,
  ROUND_ROBIN_CANDIDATES,
  setQueuePaused,
} from '../../src/worker/claim.ts';
import { collectQueueNotices, deferred, insertItems, itemState, StepClock } from '../helpers/cluster.ts';
import { testDriver } from '../helpers/database.ts';
import { databaseTest } from '../helpers/fixtures.ts';

/** The file's database, and `clock`, each test's own. */
const test = databaseTest.extend('clock', () => new StepClock());
const it = test;

test.beforeEach(async ({ database }) => {
  await database.db.execute(sql`TRUNCATE session_queue, queue_user_turns, queue_state`);
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

const claim = (clock: StepClock, db: DbOrTx, fairness: Fairness, workerId = 'w1') =>
  claimNext(db, { queueId: 'default', fairness, workerId, device: 'cpu', now: clock.advance(1000) });

/** Claims until nothing is pending and returns "user:item" for each claim. */
async function drain(database: Database, clock: StepClock, fairness: Fairness) {
  const order: string[] = [];
  for (;;) {
    const item = await claim(clock, database.db, fairness);
    if (!item) {
      return order;
    }
    order.push(`${item.userId}:${item.itemId}`);
  }
}

describe('claimNext, one claimer', () => {
  it('round_robin: least recently served user first, never served first, priority within a user', async ({
    database,
    clock,
  }) => {
    const a = await insertItems(database.db, 'A', 4);
    const b = await insertItems(database.db, 'B', 1);
    const c = await insertItems(database.db, 'C', 3);
    const [ap] = await insertItems(database.db, 'A', 1, { priority: 1 });
    // Never-served users tie, broken by their head's item_id: B (b0) and C (c0) before A (its head is ap).
    expect(await drain(database, clock, 'round_robin')).toEqual([
      `B:${b[0]}`,
      `C:${c[0]}`,
      `A:${ap}`,
      `C:${c[1]}`,
      `A:${a[0]}`,
      `C:${c[2]}`,
      `A:${a[1]}`,
      `A:${a[2]}`,
      `A:${a[3]}`,
    ]);
  });

  it('round_robin: a user served before waits behind a user never served, whatever the item ids', async ({
    database,
    clock,
  }) => {
    const [a1] = await insertItems(database.db, 'A', 1);
    expect(await drain(database, clock, 'round_robin')).toEqual([`A:${a1}`]);
    const a = await insertItems(database.db, 'A', 2);
    const b = await insertItems(database.db, 'B', 2);
    expect(await drain(database, clock, 'round_robin')).toEqual([
      `B:${b[0]}`,
      `A:${a[0]}`,
      `B:${b[1]}`,
      `A:${a[1]}`,
    ]);
  });

  it('fifo: highest priority first, then the lowest item_id, whoever the owner', async ({
    database,
    clock,
  }) => {
    const a = await insertItems(database.db, 'A', 2);
    const b = await insertItems(database.db, 'B', 2);
    const [bp] = await insertItems(database.db, 'B', 1, { priority: 1 });
    expect(await drain(database, clock, 'fifo')).toEqual([
      `B:${bp}`,
      `A:${a[0]}`,
      `A:${a[1]}`,
      `B:${b[0]}`,
      `B:${b[1]}`,
    ]);
  });

  it('records the worker, its device, the lease and the owner’s turn', async ({ database, clock }) => {
    const [id] = await insertItems(database.db, 'A', 1);
    const item = await claimNext(database.db, {
      queueId: 'default',
      fairness: 'round_robin',
      workerId: 'node1/cuda:1',
      device: 'cuda:1',
      now: clock.now(),
      leaseSeconds: 45,
    });
    expect(item).toMatchObject({
      itemId: id,
      status: 'in_progress',
      workerId: 'node1/cuda:1',
      device: 'cuda:1',
      startedAt: new Date('2026-12-01T12:00:00.000Z'),
      leaseExpiresAt: new Date('2026-12-01T12:00:45.000Z'),
    });
    expect(await itemState(database.db, id)).toEqual({
      status: 'in_progress',
      workerId: 'node1/cuda:1',
      device: 'cuda:1',
      leaseExpiresAt: '2026-12-01T12:00:45.000Z',
      interruptions: 0,
      errorType: null,
    });
    const turns = rowsOf<{ user_id: string; last_started_at: string }>(
      await database.db.execute(sql`SELECT user_id, last_started_at FROM queue_user_turns`),
    );
    expect(turns.map((t) => [t.user_id, new Date(t.last_started_at).toISOString()])).toEqual([
      ['A', '2026-12-01T12:00:00.000Z'],
    ]);
  });

  it('claims nothing while the queue is paused, for either order, and resumes', async ({
    database,
    clock,
  }) => {
    const heard = await collectQueueNotices(database);
    const [id] = await insertItems(database.db, 'A', 1);
    expect(await isQueuePaused(database.db, 'default')).toBe(false);
    await setQueuePaused(database.db, 'default', true, clock.now());
    expect(await isQueuePaused(database.db, 'default')).toBe(true);
    expect(await claim(clock, database.db, 'round_robin')).toBeUndefined();
    expect(await claim(clock, database.db, 'fifo')).toBeUndefined();
    expect((await itemState(database.db, id))?.status).toBe('pending');
    // Another queue's pause does not matter.
    await setQueuePaused(database.db, 'default', false, clock.now());
    await setQueuePaused(database.db, 'other', true, clock.now());
    expect((await claim(clock, database.db, 'round_robin'))?.itemId).toBe(id);
    await heard.until(3);
    await heard.stop();
    expect(heard.notices).toEqual([
      { queue_id: 'default', change: 'paused' },
      { queue_id: 'default', change: 'resumed' },
      { queue_id: 'other', change: 'paused' },
    ]);
  });

  // PostgreSQL only: PGlite plans the same, but inserting the rows there takes seconds.
  it.runIf(testDriver() === 'postgres')(
    'round_robin: looks its candidates up by key, never scanning the queue or a user’s history (10,000 pending items)',
    async ({ database }) => {
      // Joined to the whole pending set, the candidates made PostgreSQL hash every pending row on each claim
      // (a sequential scan: ~30 ms of CPU per claim at 100,000 items, bench/results/cluster.md).
      await database.db.execute(sql`INSERT INTO session_queue
      (queue_id, batch_id, session_id, status, priority, session, created_at, updated_at, user_id)
      SELECT 'default', 'b', 's' || g, 'pending', 0, '{}'::jsonb, now(), now(), 'u' || (g % 20)
      FROM generate_series(1, 10000) g`);
      // The users' history: in `(queue_id, user_id, status)` it sorts before their pending rows.
      await database.db.execute(sql`INSERT INTO session_queue
      (queue_id, batch_id, session_id, status, priority, session, created_at, updated_at, user_id)
      SELECT 'default', 'b', 'h' || g, 'completed', 0, '{}'::jsonb, now(), now(), 'u' || (g % 20)
      FROM generate_series(1, 2000) g`);
      await database.db.execute(sql`ANALYZE session_queue`);
      const [row] = rowsOf<{ 'QUERY PLAN': unknown }>(
        await database.db.execute(
          sql`EXPLAIN (FORMAT JSON) ${claimCandidateQuery('default', 'round_robin', ROUND_ROBIN_CANDIDATES)}`,
        ),
      );
      const raw = row?.['QUERY PLAN'];
      const [top] = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
      const nodes: PlanNode[] = [];
      const walk = (n: PlanNode) => {
        nodes.push(n);
        n.Plans?.forEach(walk);
      };
      walk(top?.Plan as PlanNode);
      // Every index read is of the pending items (the loose scan over users included) or by key: none
      // walks a user's completed history.
      const queueIndexes = nodes
        .filter((n) => n['Relation Name'] === 'session_queue')
        .map((n) => n['Index Name']);
      expect(new Set(queueIndexes)).toEqual(
        new Set(['session_queue_user_pending_idx', 'session_queue_pkey']),
      );
      const scanned = nodes.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name']);
      expect(scanned).not.toContain('session_queue');
    },
  );
});

describe.runIf(testDriver() === 'postgres')('claimNext, concurrent claimers (PostgreSQL)', () => {
  /**
   * Runs `inside` while another connection's transaction holds these rows locked, as a claim does between
   * picking its row and committing.
   */
  async function whileLocked<T>(
    database: Database,
    itemIds: (number | undefined)[],
    inside: () => Promise<T>,
  ) {
    const release = deferred();
    const locked = deferred();
    const tx = database.db.transaction(async (t) => {
      await t.execute(
        sql`SELECT item_id FROM session_queue WHERE item_id IN ${itemIds.map((i) => i ?? -1)} ORDER BY item_id FOR UPDATE`,
      );
      locked.resolve();
      await release.promise;
    });
    await locked.promise;
    try {
      return await inside();
    } finally {
      release.resolve();
      await tx;
    }
  }

  it('round_robin: one statement when nothing can be claimed (paused or empty queue), not three', async ({
    database,
    clock,
  }) => {
    // Counts the statements claimNext sends (executePrepared goes through the session's prepareQuery).
    let statements = 0;
    const counted = new Proxy(database.db, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'session') {
          return value;
        }
        return new Proxy(value, {
          get(session, key, r) {
            const member = Reflect.get(session, key, r);
            return key === 'prepareQuery'
              ? (...args: unknown[]) => {
                  statements++;
                  return member.apply(session, args);
                }
              : member;
          },
        });
      },
    }) as DbOrTx;
    expect(await claim(clock, counted, 'round_robin')).toBeUndefined();
    expect(statements).toBe(1);
    const [id] = await insertItems(database.db, 'A', 1);
    await setQueuePaused(database.db, 'default', true, clock.now());
    expect(await claim(clock, counted, 'round_robin')).toBeUndefined();
    expect(statements).toBe(2);
    await setQueuePaused(database.db, 'default', false, clock.now());
    expect((await claim(clock, counted, 'round_robin'))?.itemId).toBe(id);
    expect(statements).toBe(3);
  });

  it('round_robin: a user whose head another claimer holds is skipped for the next user', async ({
    database,
    clock,
  }) => {
    const a = await insertItems(database.db, 'A', 2);
    const b = await insertItems(database.db, 'B', 2);
    const got = await whileLocked(database, [a[0]], () => claim(clock, database.db, 'round_robin'));
    expect(got?.itemId).toBe(b[0]);
  });

  it('round_robin: a single user’s held head falls through to their next item, never to nothing', async ({
    database,
    clock,
  }) => {
    const a = await insertItems(database.db, 'A', 2);
    const got = await whileLocked(database, [a[0]], () => claim(clock, database.db, 'round_robin'));
    expect(got?.itemId).toBe(a[1]);
  });

  it('round_robin: every user’s head held: the next user’s second item, in turn order', async ({
    database,
    clock,
  }) => {
    const a = await insertItems(database.db, 'A', 2);
    const b = await insertItems(database.db, 'B', 2);
    const [c0] = await insertItems(database.db, 'C', 1);
    // C was served long ago, A more recently, B never: heads B, C, A are held, so the second items follow
    // the same turn order (B's, then A's: C has none).
    expect((await claim(clock, database.db, 'round_robin'))?.itemId).toBe(a[0]);
    expect((await claim(clock, database.db, 'round_robin'))?.itemId).toBe(b[0]);
    expect((await claim(clock, database.db, 'round_robin'))?.itemId).toBe(c0);
    const [c1] = await insertItems(database.db, 'C', 1);
    const a2 = await insertItems(database.db, 'A', 1);
    const b2 = await insertItems(database.db, 'B', 1);
    // Turns now: A oldest, then B, then C. Heads A a1, B b1, C c1 held.
    const got = await whileLocked(database, [a[1], b[1], c1], () => claim(clock, database.db, 'round_robin'));
    expect(got?.itemId).toBe(a2[0]);
    const next = await whileLocked(database, [b[1], c1], () => claim(clock, database.db, 'round_robin'));
    expect(next?.itemId).toBe(a[1]);
    expect(b2).toHaveLength(1);
  });

  it('round_robin: the candidates spread over the users: one user gets all of them, 20 users only their heads', async ({
    database,
    clock,
  }) => {
    // 16 candidates in all: one user's first 16 items; with 20 users, each user's head alone.
    const a = await insertItems(database.db, 'A', 17);
    const got = await whileLocked(database, a.slice(0, 15), () => claim(clock, database.db, 'round_robin'));
    expect(got?.itemId).toBe(a[15]);
    const none = await whileLocked(database, [...a.slice(0, 15), a[16]], () =>
      claim(clock, database.db, 'round_robin'),
    );
    expect(none).toBeUndefined();
    await database.db.execute(sql`DELETE FROM session_queue`);
    const heads: number[] = [];
    for (let u = 0; u < 20; u++) {
      heads.push(...(await insertItems(database.db, `U${String(u).padStart(2, '0')}`, 2)).slice(0, 1));
    }
    // Every head held: a head-only claim has nothing left to try, though second items are pending.
    expect(
      await whileLocked(database, heads, () => claim(clock, database.db, 'round_robin')),
    ).toBeUndefined();
    expect(
      await whileLocked(database, heads.slice(1), () => claim(clock, database.db, 'round_robin')),
    ).toMatchObject({
      itemId: heads[0],
    });
  });

  it('fifo: a held first item falls through to the next', async ({ database, clock }) => {
    const a = await insertItems(database.db, 'A', 2);
    const got = await whileLocked(database, [a[0]], () => claim(clock, database.db, 'fifo'));
    expect(got?.itemId).toBe(a[1]);
  });

  for (const fairness of ['round_robin', 'fifo'] as const) {
    it(`${fairness}: 4 connections claim 600 items exactly once, never empty-handed while items are pending, in order`, async ({
      database,
    }) => {
      const perUser = 200;
      const expected = new Map<string, number[]>();
      for (const u of ['A', 'B', 'C']) {
        const low = await insertItems(database.db, u, perUser / 2);
        const high = await insertItems(database.db, u, perUser / 2, { priority: 1 });
        expected.set(u, [...high, ...low]);
      }
      const claims: { user: string; item: number; tick: number; priority: number }[] = [];
      let tick = 0;
      let emptyWhilePending = 0;
      const claimer = async (w: string) => {
        for (;;) {
          const myTick = ++tick;
          const item = await claimNext(database.db, {
            queueId: 'default',
            fairness,
            workerId: w,
            device: 'cpu',
            now: new Date(Date.parse('2026-12-01T12:00:00Z') + myTick),
          });
          if (!item) {
            const [row] = rowsOf<{ n: number }>(
              await database.db.execute(
                sql`SELECT count(*)::int AS n FROM session_queue WHERE status = 'pending'`,
              ),
            );
            // Only rows other claimers hold (at most 3, uncommitted) may still read as pending.
            if ((row?.n ?? 0) > 3) {
              emptyWhilePending++;
            }
            return;
          }
          claims.push({ user: item.userId, item: item.itemId, tick: myTick, priority: item.priority });
        }
      };
      await Promise.all(['w1', 'w2', 'w3', 'w4'].map(claimer));
      expect(emptyWhilePending).toBe(0);
      const ids = claims.map((c) => c.item);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(3 * perUser);
      const rows = rowsOf<{ item_id: number; worker_id: string }>(
        await database.db.execute(
          sql`SELECT item_id, worker_id FROM session_queue WHERE status <> 'in_progress'`,
        ),
      );
      expect(rows).toEqual([]);
      // The order the claims took their rows: the transaction id each claim got when it locked its row.
      const xids = new Map(
        rowsOf<{ item_id: number; xid: string }>(
          await database.db.execute(sql`SELECT item_id, xmin::text AS xid FROM session_queue`),
        ).map((r) => [Number(r.item_id), Number(r.xid)]),
      );
      for (const c of claims) {
        c.tick = xids.get(c.item) ?? Number.NaN;
      }
      claims.sort((x, y) => x.tick - y.tick);
      // One claimer alone keeps every bound at 1 (round robin) or 0 (in order); each of the other 3 claims in
      // flight can shift a claim by one place.
      const slack = 4;
      if (fairness === 'round_robin') {
        // Round robin serves every user every third claim. Recency, not counts, decides a turn, so a claim
        // that races others never gets compensated: check that no user waits long, not the running totals.
        // Alone, a user waits 2 claims between theirs; each of the other 3 claims in flight may add 2 (it
        // read the turns before the last claims committed, and its turn time is its claimer's clock). A
        // claim whose backend stalls while holding a user's head (CPU-starved test runs) makes that user
        // wait until it commits, as it should (the user is being served): allow a few such long waits, but
        // never one near the 100+ a non-round-robin order gives.
        const users = claims.map((c) => c.user);
        for (const u of ['A', 'B', 'C']) {
          const gaps: number[] = [];
          let last = -1;
          users.forEach((who, i) => {
            if (who === u) {
              gaps.push(i - last - 1);
              last = i;
            }
          });
          expect(gaps.filter((g) => g > 2 + 2 * (slack - 1)).length).toBeLessThanOrEqual(3);
          expect(Math.max(...gaps)).toBeLessThan(60);
        }
        // Within a user: priority first, then item_id, within the claimers in flight; a stalled backend (as
        // above) may displace a few claims one place further, never many.
        for (const [u, order] of expected) {
          const got = claims.filter((c) => c.user === u).map((c) => c.item);
          const shifts = got.map((item, i) => Math.abs(order.indexOf(item) - i));
          expect(shifts.filter((d) => d > slack).length).toBeLessThanOrEqual(3);
          expect(Math.max(...shifts)).toBeLessThanOrEqual(2 * slack);
        }
      } else {
        // All 300 priority-1 items before the priority-0 ones, each group by item_id, within the claimers in flight.
        const order = [...expected.values()]
          .flatMap((ids, _) => ids)
          .map((item) => ({ item, p: claims.find((c) => c.item === item)?.priority ?? -1 }))
          .sort((x, y) => y.p - x.p || x.item - y.item)
          .map((x) => x.item);
        claims.forEach((c, i) => {
          expect(Math.abs(order.indexOf(c.item) - i)).toBeLessThanOrEqual(slack);
        });
      }
    });
  }
});
