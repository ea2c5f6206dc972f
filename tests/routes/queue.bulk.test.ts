import { describe, expect } from 'vitest';
import type { sessionQueue } from '../../src/db/schema/index.ts';
import { must } from '../helpers/common.ts';
import type { TestUser } from '../helpers/harness.ts';
import { enqueue, Q } from '../helpers/queue.ts';
import { it, setStatus, snapshot, test } from '../helpers/queue-items.ts';

test.beforeEach(({ h }) => {
  h.events.clear();
  h.workers.canceled.splice(0);
});

type Row = typeof sessionQueue.$inferSelect;

/** What the rows must be after a bulk cancel of `canceled` at `now`. */
function afterCancel(rows: Row[], canceled: Set<number>, now: Date): Row[] {
  return rows.map((r) =>
    canceled.has(r.itemId) ? { ...r, status: 'canceled', completedAt: now, updatedAt: now } : r,
  );
}

/** One `queue_items_canceled` per owner, owners in order of their first canceled id. */
function canceledEvents(rows: Row[]) {
  const byOwner = new Map<string, number[]>();
  for (const r of [...rows].sort((a, b) => a.itemId - b.itemId)) {
    byOwner.set(r.userId, [...(byOwner.get(r.userId) ?? []), r.itemId]);
  }
  return [...byOwner].map(([userId, ids]) => ({
    name: 'queue_items_canceled',
    queueId: 'default',
    ownerId: userId,
    data: { queue_id: 'default', canceled_item_ids: ids, user_id: userId },
  }));
}

describe('bulk verbs touch only the caller’s items unless admin', () => {
  let carol: TestUser;
  let dave: TestUser;
  // The file's items (`f`) are made first: the admin's verbs below act on them too.
  test.beforeAll(async ({ h, f: _f }) => {
    carol = await h.createUser({ displayName: 'Carol' });
    dave = await h.createUser({ displayName: 'Dave' });
  });

  it('cancel_by_batch_ids with an own and another user’s batch cancels only the own items', async ({ h }) => {
    const c = await enqueue(h, carol.token, { runs: 2 });
    const d = await enqueue(h, dave.token, { runs: 2 });
    h.events.clear();
    h.clock.advance(1000);
    const before = await snapshot(h);
    const res = await h.put(`${Q}/cancel_by_batch_ids`, {
      token: carol.token,
      json: { batch_ids: [d.batch.batch_id, c.batch.batch_id] },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ canceled: 2 });
    const after = await snapshot(h);
    expect(after.rows).toEqual(afterCancel(before.rows, new Set(c.item_ids), h.clock.now()));
    expect(h.events.events).toEqual([
      {
        name: 'queue_items_canceled',
        queueId: 'default',
        ownerId: carol.user.user_id,
        data: { queue_id: 'default', canceled_item_ids: c.item_ids, user_id: carol.user.user_id },
      },
    ]);
    expect(h.workers.canceled).toEqual([]);
  });

  it('cancel_all_except_current by a user cancels only their own pending items', async ({ h }) => {
    const c = await enqueue(h, carol.token, { runs: 3 });
    await enqueue(h, dave.token, { runs: 2 });
    const [running, ...pending] = c.item_ids as [number, ...number[]];
    await setStatus(h, running, 'in_progress');
    h.events.clear();
    h.clock.advance(1000);
    const before = await snapshot(h);
    const res = await h.put(`${Q}/cancel_all_except_current`, { token: carol.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ canceled: 2 });
    const after = await snapshot(h);
    expect(after.rows).toEqual(afterCancel(before.rows, new Set(pending), h.clock.now()));
    expect(h.events.events).toEqual([
      {
        name: 'queue_items_canceled',
        queueId: 'default',
        ownerId: carol.user.user_id,
        data: { queue_id: 'default', canceled_item_ids: pending, user_id: carol.user.user_id },
      },
    ]);
    expect(h.workers.canceled).toEqual([]);
    // Running items are left alone, so cancel the one made here to keep the queue tidy for the next test.
    expect((await h.put(`${Q}/i/${running}/cancel`, { token: carol.token })).status).toBe(200);
  });

  it('cancel_all_except_current by an admin cancels every pending item, running ones stay', async ({
    h,
    alice,
    bob,
    admin,
  }) => {
    await enqueue(h, carol.token, { runs: 1 });
    await enqueue(h, dave.token, { runs: 2 });
    h.events.clear();
    h.workers.canceled.splice(0);
    h.clock.advance(1000);
    const before = await snapshot(h);
    const pending = before.rows.filter((r) => r.status === 'pending');
    expect(pending.map((r) => r.userId)).toEqual(
      expect.arrayContaining([alice.user.user_id, bob.user.user_id, carol.user.user_id, dave.user.user_id]),
    );
    const running = before.rows.filter((r) => r.status === 'in_progress');
    expect(running.length).toBeGreaterThan(0);
    const res = await h.put(`${Q}/cancel_all_except_current`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ canceled: pending.length });
    const after = await snapshot(h);
    expect(after.rows).toEqual(
      afterCancel(before.rows, new Set(pending.map((r) => r.itemId)), h.clock.now()),
    );
    expect(h.events.events).toEqual(canceledEvents(pending));
    expect(h.workers.canceled).toEqual([]);
  });

  it('prune by a user deletes only their own finished items', async ({ h }) => {
    const c = await enqueue(h, carol.token, { runs: 4 });
    const [cPending, cDone, cFailed, cCanceled] = c.item_ids as [number, number, number, number];
    await setStatus(h, cDone, 'completed');
    await setStatus(h, cFailed, 'failed');
    await setStatus(h, cCanceled, 'canceled');
    const d = await enqueue(h, dave.token, { runs: 1 });
    await setStatus(h, must(d.item_ids[0], 'dave item'), 'completed');
    h.events.clear();
    const before = await snapshot(h);
    const carolFinished = before.rows.filter(
      (r) => r.userId === carol.user.user_id && r.status !== 'pending' && r.status !== 'in_progress',
    );
    expect(carolFinished.map((r) => r.itemId)).toEqual(expect.arrayContaining([cDone, cFailed, cCanceled]));
    const res = await h.put(`${Q}/prune`, { token: carol.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: carolFinished.length });
    const after = await snapshot(h);
    const gone = new Set(carolFinished.map((r) => r.itemId));
    expect(after.rows).toEqual(before.rows.filter((r) => !gone.has(r.itemId)));
    expect(after.rows.some((r) => r.itemId === cPending)).toBe(true);
    expect(h.events.events).toEqual([]);
    expect(h.workers.canceled).toEqual([]);
  });

  it('prune by an admin deletes every finished item', async ({ h, admin }) => {
    const before = await snapshot(h);
    const finished = before.rows.filter((r) => ['completed', 'failed', 'canceled'].includes(r.status));
    expect(new Set(finished.map((r) => r.userId)).size).toBeGreaterThan(1);
    const res = await h.put(`${Q}/prune`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: finished.length });
    const after = await snapshot(h);
    expect(after.rows).toEqual(
      before.rows.filter((r) => r.status === 'pending' || r.status === 'in_progress'),
    );
    expect(h.events.events).toEqual([]);
  });

  it('clear is admin-only, deletes everything, stops the running item and tells everyone', async ({
    f,
    h,
    admin,
  }) => {
    await enqueue(h, dave.token, { runs: 1 });
    h.events.clear();
    h.workers.canceled.splice(0);
    const before = await snapshot(h);
    const running = before.rows.filter((r) => r.status === 'in_progress').map((r) => r.itemId);
    expect(running).toEqual([f.aR]);
    const res = await h.put(`${Q}/clear`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: before.rows.length });
    expect((await snapshot(h)).rows).toEqual([]);
    expect(h.events.events).toEqual([
      { name: 'queue_cleared', queueId: 'default', ownerId: null, data: { queue_id: 'default' } },
    ]);
    expect(h.workers.canceled).toEqual(running);
  });
});
