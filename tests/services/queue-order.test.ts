import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { claimNext } from '../../src/worker/claim.ts';
import { test as fileTest } from '../helpers/fixtures.ts';
import type { Harness, TestUser } from '../helpers/harness.ts';
import { enqueue, Q } from '../helpers/queue.ts';

/** The file's harness with A, B and C: three users of each test's own, on an emptied queue. */
interface Abc {
  h: Harness;
  a: TestUser;
  b: TestUser;
  c: TestUser;
}

const test = fileTest
  .extend('abc', { auto: true }, async ({ h }) => {
    await h.db.execute(sql`TRUNCATE session_queue, queue_user_turns`);
    return [
      await h.createUser({ displayName: 'A' }),
      await h.createUser({ displayName: 'B' }),
      await h.createUser({ displayName: 'C' }),
    ] as const;
  })
  .extend('a', ({ abc }) => abc[0])
  .extend('b', ({ abc }) => abc[1])
  .extend('c', ({ abc }) => abc[2]);
const it = test;

const names = ({ a, b, c }: Abc) => new Map([a, b, c].map((u, i) => [u.user.user_id, 'ABC'[i]]));

/** Claims until nothing is pending, one second apart, and returns "owner:item" for each claim. */
async function drain(w: Abc, fairness: 'round_robin' | 'fifo') {
  const { h } = w;
  const who = names(w);
  const order: string[] = [];
  for (;;) {
    h.clock.advance(1000);
    const item = await claimNext(h.db, {
      queueId: 'default',
      fairness: fairness,
      workerId: 'test/0:cpu',
      device: 'cpu',
      now: h.clock.now(),
    });
    if (!item) {
      return order;
    }
    order.push(`${who.get(item.userId)}:${item.itemId}`);
  }
}

describe('round_robin', () => {
  it('interleaves three users with 10, 1 and 5 pending items, least recently served first', async ({
    h,
    a,
    b,
    c,
  }) => {
    const ia = (await enqueue(h, a.token, { runs: 10 })).item_ids;
    const ib = (await enqueue(h, b.token, { runs: 1 })).item_ids;
    const ic = (await enqueue(h, c.token, { runs: 5 })).item_ids;
    const A = (i: number) => `A:${ia[i]}`;
    const C = (i: number) => `C:${ic[i]}`;
    expect(await drain({ h, a, b, c }, 'round_robin')).toEqual([
      A(0),
      `B:${ib[0]}`,
      C(0),
      A(1),
      C(1),
      A(2),
      C(2),
      A(3),
      C(3),
      A(4),
      C(4),
      A(5),
      A(6),
      A(7),
      A(8),
      A(9),
    ]);
  });

  it('a prepended item goes before its owner’s other items but never ahead of another user’s turn', async ({
    h,
    a,
    b,
    c,
  }) => {
    const first = (await enqueue(h, a.token, { runs: 1 })).item_ids;
    expect((await drain({ h, a, b, c }, 'round_robin')).length).toBe(1);
    const ia = (await enqueue(h, a.token, { runs: 2 })).item_ids;
    const ib = (await enqueue(h, b.token, { runs: 2 })).item_ids;
    const [pa] = (await enqueue(h, a.token, { runs: 1, prepend: true })).item_ids;
    expect(first).toHaveLength(1);
    expect(await drain({ h, a, b, c }, 'round_robin')).toEqual([
      `B:${ib[0]}`,
      `A:${pa}`,
      `B:${ib[1]}`,
      `A:${ia[0]}`,
      `A:${ia[1]}`,
    ]);
  });

  it('GET /next shows the item that the claim then takes', async ({ h, a, b }) => {
    await enqueue(h, a.token, { runs: 3 });
    const [bItem] = (await enqueue(h, b.token, { runs: 1 })).item_ids;
    h.clock.advance(1000);
    await claimNext(h.db, {
      queueId: 'default',
      fairness: 'round_robin',
      workerId: 'test/0:cpu',
      device: 'cpu',
      now: h.clock.now(),
    });
    const next = await (await h.get(`${Q}/next`, { token: b.token })).json();
    expect(next.item_id).toBe(bItem);
    h.clock.advance(1000);
    expect(
      (
        await claimNext(h.db, {
          queueId: 'default',
          fairness: 'round_robin',
          workerId: 'test/0:cpu',
          device: 'cpu',
          now: h.clock.now(),
        })
      )?.itemId,
    ).toBe(bItem);
  });

  it('two claimers at once never take the same item', async ({ h, a, b }) => {
    await enqueue(h, a.token, { runs: 10 });
    await enqueue(h, b.token, { runs: 10 });
    const claims = await Promise.all(
      Array.from({ length: 40 }, () =>
        claimNext(h.db, {
          queueId: 'default',
          fairness: 'round_robin',
          workerId: 'test/0:cpu',
          device: 'cpu',
          now: h.clock.now(),
        }),
      ),
    );
    const ids = claims.flatMap((x) => (x ? [x.itemId] : []));
    expect(new Set(ids).size).toBe(ids.length);
    // SKIP LOCKED lets a claimer pass over a row another claimer holds without taking it, so a concurrent
    // round may leave an item for the next claim; none is ever taken twice, and none is lost.
    for (;;) {
      const next = await claimNext(h.db, {
        queueId: 'default',
        fairness: 'round_robin',
        workerId: 'test/0:cpu',
        device: 'cpu',
        now: h.clock.now(),
      });
      if (!next) {
        break;
      }
      ids.push(next.itemId);
    }
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
  });

  it('the claimed item carries the owner’s names from the LEFT JOIN, and null names for a deleted owner', async ({
    h,
    a,
    c,
  }) => {
    const [item] = (await enqueue(h, a.token)).item_ids;
    const [orphan] = (await enqueue(h, c.token)).item_ids;
    await h.db.execute(sql`DELETE FROM users WHERE user_id = ${c.user.user_id}`);
    h.clock.advance(1000);
    const claimed = await claimNext(h.db, {
      queueId: 'default',
      fairness: 'round_robin',
      workerId: 'test/0:cpu',
      device: 'cpu',
      now: h.clock.now(),
    });
    expect(claimed).toMatchObject({
      itemId: item,
      status: 'in_progress',
      userDisplayName: 'A',
      userEmail: a.user.email,
    });
    expect(claimed?.startedAt?.toISOString()).toBe(h.clock.now().toISOString());
    h.clock.advance(1000);
    const second = await claimNext(h.db, {
      queueId: 'default',
      fairness: 'round_robin',
      workerId: 'test/0:cpu',
      device: 'cpu',
      now: h.clock.now(),
    });
    expect(second).toMatchObject({
      itemId: orphan,
      userId: c.user.user_id,
      userDisplayName: null,
      userEmail: null,
    });
  });
});

describe('fifo', () => {
  it('takes the highest priority, then the lowest item_id, regardless of owner', async ({ h, a, b, c }) => {
    const ia = (await enqueue(h, a.token, { runs: 3 })).item_ids;
    const ib = (await enqueue(h, b.token, { runs: 1 })).item_ids;
    const [pc] = (await enqueue(h, c.token, { runs: 1, prepend: true })).item_ids;
    expect(await drain({ h, a, b, c }, 'fifo')).toEqual([
      `C:${pc}`,
      ...ia.map((i) => `A:${i}`),
      `B:${ib[0]}`,
    ]);
  });

  it('nothing pending: no claim', async ({ h }) => {
    expect(
      await claimNext(h.db, {
        queueId: 'default',
        fairness: 'fifo',
        workerId: 'test/0:cpu',
        device: 'cpu',
        now: h.clock.now(),
      }),
    ).toBeUndefined();
  });
});
