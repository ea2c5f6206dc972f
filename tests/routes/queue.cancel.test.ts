import { describe, expect } from 'vitest';
import type { QueueItem } from '../../src/queue/schemas.ts';
import { must } from '../helpers/common.ts';
import { enqueue, Q } from '../helpers/queue.ts';
import {
  allRows,
  auditOf,
  batchStatusOf,
  canceledEvent,
  entry,
  freshBeforeEach,
  getItem,
  it,
  itemRoute,
  now,
  setStatus,
  statusChanged,
} from '../helpers/queue-mutations.ts';

freshBeforeEach();

describe('cancel one item', () => {
  it('a pending item comes back canceled, with one queue_item_status_changed', async ({
    admin,
    h,
    alice,
  }) => {
    const { item_ids, batch } = await enqueue(h, alice.token, {
      runs: 2,
      origin: 'canvas',
      destination: 'gallery',
    });
    const id = must(item_ids[0], 'item');
    const before = await getItem({ h, admin }, id, alice.token);
    h.events.clear();
    h.clock.advance(1000);
    const res = await h.put(`${Q}/i/${id}/cancel`, { token: alice.token });
    expect(res.status).toBe(200);
    const expected = { ...before, status: 'canceled', updated_at: now(h), completed_at: now(h) };
    expect(await res.json()).toEqual(expected);
    expect(await getItem({ h, admin }, id, alice.token)).toEqual(expected);

    const rows = await allRows(h);
    expect(batchStatusOf(rows, batch.batch_id, alice.user.user_id)).toEqual({
      queue_id: 'default',
      batch_id: batch.batch_id,
      origin: 'canvas',
      destination: 'gallery',
      pending: 1,
      in_progress: 0,
      completed: 0,
      failed: 0,
      canceled: 1,
      total: 2,
    });
    expect(h.events.events).toEqual([statusChanged(expected as QueueItem, rows)]);
    expect(h.workers.canceled).toEqual([]);
    expect(await auditOf({ h, admin }, res, 'queue.canceled')).toEqual([
      entry(h, res, alice, 'queue.canceled', ['queue_item', String(id)], {
        owner_user_id: alice.user.user_id,
      }),
    ]);
  });

  it('an admin cancels another user’s item and sees it whole; the event goes to the owner', async ({
    h,
    bob,
    admin,
  }) => {
    const { item_ids } = await enqueue(h, bob.token);
    const id = must(item_ids[0], 'item');
    const before = await getItem({ h, admin }, id);
    h.events.clear();
    const res = await h.put(`${Q}/i/${id}/cancel`, { token: admin.token });
    expect(res.status).toBe(200);
    const expected = { ...before, status: 'canceled', updated_at: now(h), completed_at: now(h) };
    expect(await res.json()).toEqual(expected);
    expect(h.events.events).toEqual([statusChanged(expected as QueueItem, await allRows(h))]);
    expect(await auditOf({ h, admin }, res, 'queue.canceled')).toEqual([
      entry(h, res, admin, 'queue.canceled', ['queue_item', String(id)], { owner_user_id: bob.user.user_id }),
    ]);
  });

  it.for(['completed', 'failed', 'canceled'] as const)(
    'a %s item comes back unchanged, no event',
    async (s, { admin, h, alice }) => {
      const { item_ids } = await enqueue(h, alice.token);
      const id = must(item_ids[0], 'item');
      if (s === 'canceled') {
        expect((await h.put(`${Q}/i/${id}/cancel`, { token: alice.token })).status).toBe(200);
      } else {
        await setStatus(h, id, s);
      }
      const before = await getItem({ h, admin }, id, alice.token);
      const rowsBefore = await allRows(h);
      h.events.clear();
      h.clock.advance(1000);
      const res = await h.put(`${Q}/i/${id}/cancel`, { token: alice.token });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(before);
      expect(await allRows(h)).toEqual(rowsBefore);
      expect(h.events.events).toEqual([]);
      expect(h.workers.canceled).toEqual([]);
      expect(await auditOf({ h, admin }, res, 'queue.canceled')).toEqual([]);
    },
  );

  it('an in-progress item is canceled and the processor is told to stop it', async ({ admin, h, alice }) => {
    const { item_ids } = await enqueue(h, alice.token, { runs: 2 });
    const id = must(item_ids[0], 'item');
    await setStatus(h, id, 'in_progress');
    const before = await getItem({ h, admin }, id, alice.token);
    h.events.clear();
    h.clock.advance(1000);
    const res = await h.put(`${Q}/i/${id}/cancel`, { token: alice.token });
    expect(res.status).toBe(200);
    const expected = { ...before, status: 'canceled', updated_at: now(h), completed_at: now(h) };
    expect(expected.started_at).not.toBeNull();
    expect(await res.json()).toEqual(expected);
    expect(h.workers.canceled).toEqual([id]);
    expect(h.events.events).toEqual([statusChanged(expected as QueueItem, await allRows(h))]);
  });
});

describe('cancel_by_batch_ids', () => {
  it('cancels the caller’s batch: one queue_items_canceled, plus a status change for the running item', async ({
    admin,
    h,
    alice,
  }) => {
    const { item_ids, batch } = await enqueue(h, alice.token, { runs: 3 });
    const [running, ...pending] = item_ids as [number, ...number[]];
    await setStatus(h, running, 'in_progress');
    const runningBefore = await getItem({ h, admin }, running);
    h.events.clear();
    h.clock.advance(1000);
    const res = await h.put(`${Q}/cancel_by_batch_ids`, {
      token: alice.token,
      json: { batch_ids: [batch.batch_id] },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ canceled: 3 });
    const rows = await allRows(h);
    for (const id of item_ids) {
      expect(rows.find((r) => r.itemId === id)?.status).toBe('canceled');
    }
    const runningAfter = { ...runningBefore, status: 'canceled', updated_at: now(h), completed_at: now(h) };
    expect(await getItem({ h, admin }, running)).toEqual(runningAfter);
    expect(h.events.events).toEqual([
      canceledEvent(alice.user.user_id, [running, ...pending]),
      statusChanged(runningAfter as QueueItem, rows),
    ]);
    expect(h.workers.canceled).toEqual([running]);
    expect(await auditOf({ h, admin }, res, 'queue.canceled')).toEqual([
      entry(h, res, alice, 'queue.canceled', ['queue', 'default'], {
        batch_ids: [batch.batch_id],
        canceled: 3,
      }),
    ]);
  });

  it('an admin cancelling two users’ batches publishes one event per owner', async ({
    h,
    alice,
    bob,
    admin,
  }) => {
    const a = await enqueue(h, alice.token, { runs: 2 });
    const b = await enqueue(h, bob.token, { runs: 1 });
    h.events.clear();
    const batchIds = [b.batch.batch_id, a.batch.batch_id];
    const res = await h.put(`${Q}/cancel_by_batch_ids`, {
      token: admin.token,
      json: { batch_ids: batchIds },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ canceled: 3 });
    expect(h.events.events).toEqual([
      canceledEvent(alice.user.user_id, a.item_ids),
      canceledEvent(bob.user.user_id, b.item_ids),
    ]);
    expect(h.workers.canceled).toEqual([]);
    expect(await auditOf({ h, admin }, res, 'queue.canceled')).toEqual([
      entry(h, res, admin, 'queue.canceled', ['queue', 'default'], { batch_ids: batchIds, canceled: 3 }),
    ]);
  });

  it('batches with nothing left to cancel give { canceled: 0 }, no event, no audit', async ({
    admin,
    h,
    alice,
  }) => {
    const a = await enqueue(h, alice.token);
    await setStatus(h, must(a.item_ids[0], 'item'), 'completed');
    h.events.clear();
    const res = await h.put(`${Q}/cancel_by_batch_ids`, {
      token: alice.token,
      json: { batch_ids: [a.batch.batch_id, 'no-such-batch'] },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ canceled: 0 });
    expect(h.events.events).toEqual([]);
    expect(await auditOf({ h, admin }, res, 'queue.canceled')).toEqual([]);
  });
});

describe('cancel_all_except_current', () => {
  it('cancels the caller’s pending items and leaves the running one', async ({ admin, h }) => {
    const carol = await h.createUser({ displayName: 'Carol' });
    const { item_ids } = await enqueue(h, carol.token, { runs: 3 });
    const [running, ...pending] = item_ids as [number, ...number[]];
    await setStatus(h, running, 'in_progress');
    h.events.clear();
    const res = await h.put(`${Q}/cancel_all_except_current`, { token: carol.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ canceled: 2 });
    expect((await getItem({ h, admin }, running)).status).toBe('in_progress');
    expect(h.events.events).toEqual([canceledEvent(carol.user.user_id, pending)]);
    expect(h.workers.canceled).toEqual([]);
    expect(await auditOf({ h, admin }, res, 'queue.canceled')).toEqual([
      entry(h, res, carol, 'queue.canceled', ['queue', 'default'], {
        scope: 'own',
        except_current: true,
        canceled: 2,
      }),
    ]);
    expect((await h.put(`${Q}/i/${running}/cancel`, { token: carol.token })).status).toBe(200);
  });
});

itemRoute('PUT', '/cancel', 200);
