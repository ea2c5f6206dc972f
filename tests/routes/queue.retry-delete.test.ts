import { describe, expect } from 'vitest';
import type { QueueItem } from '../../src/queue/schemas.ts';
import { must } from '../helpers/common.ts';
import { enqueue, Q } from '../helpers/queue.ts';
import {
  allRows,
  auditOf,
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

describe('enqueue', () => {
  it('is audited as queue.enqueued', async ({ admin, h, alice }) => {
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: alice.token,
      json: {
        batch: {
          graph: { id: 'g', nodes: { s: { id: 's', type: 'string', value: 'x' } }, edges: [] },
          runs: 2,
        },
        prepend: true,
      },
    });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.priority).toBe(1);
    expect(await auditOf({ h, admin }, res, 'queue.enqueued')).toEqual([
      entry(h, res, alice, 'queue.enqueued', ['batch', body.batch.batch_id], {
        queue_id: 'default',
        enqueued: 2,
        priority: 1,
      }),
    ]);
    expect(h.events.names()).toEqual(['batch_enqueued']);
    expect(h.workers.wakes).toBeGreaterThan(0);
  });
});

describe('retry_items_by_id', () => {
  it('retries only failed and canceled items, as new items of the same owner', async ({ admin, h }) => {
    const carol = await h.createUser({ displayName: 'Carol' });
    const { item_ids } = await enqueue(h, carol.token, { runs: 4, origin: 'o', destination: 'd' });
    const [pending, done, failed, canceled] = item_ids as [number, number, number, number];
    await setStatus(h, done, 'completed');
    await setStatus(h, failed, 'failed');
    expect((await h.put(`${Q}/i/${canceled}/cancel`, { token: carol.token })).status).toBe(200);
    const originals = await Promise.all(
      [failed, canceled].map((id) => getItem({ h, admin }, id, carol.token)),
    );
    const wakes = h.workers.wakes;
    h.events.clear();
    h.clock.advance(1000);
    const res = await h.put(`${Q}/retry_items_by_id`, {
      token: carol.token,
      json: [pending, done, failed, canceled, 999999],
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      queue_id: 'default',
      retried_item_ids: [failed, canceled],
      item_ids: [expect.any(Number), expect.any(Number)],
    });
    const [newFailed, newCanceled] = body.item_ids as [number, number];
    expect(newCanceled).toBe(newFailed + 1);
    expect(newFailed).toBeGreaterThan(canceled);

    for (const [orig, id] of [
      [originals[0], newFailed],
      [originals[1], newCanceled],
    ] as const) {
      const o = must(orig, 'original');
      const item = await getItem({ h, admin }, id, carol.token);
      expect(item.session_id).not.toBe(o.session_id);
      expect(item).toEqual({
        ...o,
        item_id: id,
        session_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        session: { ...o.session, id: item.session_id },
        status: 'pending',
        error_type: null,
        error_message: null,
        error_traceback: null,
        created_at: now(h),
        updated_at: now(h),
        started_at: null,
        completed_at: null,
        retried_from_item_id: o.item_id,
      });
    }
    // The originals stay as they were.
    expect((await getItem({ h, admin }, pending)).status).toBe('pending');
    expect((await getItem({ h, admin }, done)).status).toBe('completed');
    expect(await getItem({ h, admin }, failed, carol.token)).toEqual(originals[0]);

    expect(h.events.events).toEqual([
      {
        name: 'queue_items_retried',
        queueId: 'default',
        ownerId: carol.user.user_id,
        data: {
          queue_id: 'default',
          retried_item_ids: [failed, canceled],
          item_ids: [newFailed, newCanceled],
          user_id: carol.user.user_id,
        },
      },
    ]);
    expect(h.workers.wakes).toBe(wakes + 1);
    expect(await auditOf({ h, admin }, res, 'queue.retried')).toEqual([
      entry(h, res, carol, 'queue.retried', ['queue', 'default'], {
        retried_item_ids: [failed, canceled],
        item_ids: [newFailed, newCanceled],
      }),
    ]);
  });

  it('an admin retrying two users’ items keeps each owner and publishes one event per owner', async ({
    h,
    alice,
    bob,
    admin,
  }) => {
    const a = await enqueue(h, alice.token);
    const b = await enqueue(h, bob.token);
    const aId = must(a.item_ids[0], 'alice item');
    const bId = must(b.item_ids[0], 'bob item');
    await setStatus(h, aId, 'failed');
    await setStatus(h, bId, 'failed');
    h.events.clear();
    const res = await h.put(`${Q}/retry_items_by_id`, { token: admin.token, json: [bId, aId] });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      queue_id: 'default',
      retried_item_ids: [bId, aId],
      item_ids: [expect.any(Number), expect.any(Number)],
    });
    const [newB, newA] = body.item_ids as [number, number];
    expect(await getItem({ h, admin }, newB)).toMatchObject({
      user_id: bob.user.user_id,
      retried_from_item_id: bId,
    });
    expect(await getItem({ h, admin }, newA)).toMatchObject({
      user_id: alice.user.user_id,
      retried_from_item_id: aId,
    });
    expect(h.events.events).toEqual([
      {
        name: 'queue_items_retried',
        queueId: 'default',
        ownerId: bob.user.user_id,
        data: { queue_id: 'default', retried_item_ids: [bId], item_ids: [newB], user_id: bob.user.user_id },
      },
      {
        name: 'queue_items_retried',
        queueId: 'default',
        ownerId: alice.user.user_id,
        data: { queue_id: 'default', retried_item_ids: [aId], item_ids: [newA], user_id: alice.user.user_id },
      },
    ]);
    expect((await auditOf({ h, admin }, res, 'queue.retried')).map((e) => e.actor_user_id)).toEqual([
      admin.user.user_id,
    ]);
  });
});

describe('DELETE i/{item_id}', () => {
  it('deletes a pending item: 204, gone, audited, no event', async ({ admin, h, alice }) => {
    const { item_ids } = await enqueue(h, alice.token);
    const id = must(item_ids[0], 'item');
    h.events.clear();
    const res = await h.delete(`${Q}/i/${id}`, { token: alice.token });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect((await h.get(`${Q}/i/${id}`, { token: alice.token })).status).toBe(404);
    expect((await allRows(h)).some((r) => r.itemId === id)).toBe(false);
    expect(h.events.events).toEqual([]);
    expect(h.workers.canceled).toEqual([]);
    expect(await auditOf({ h, admin }, res, 'queue.deleted')).toEqual([
      entry(h, res, alice, 'queue.deleted', ['queue_item', String(id)], {
        owner_user_id: alice.user.user_id,
      }),
    ]);
  });

  it('an in-progress item is canceled first, then deleted', async ({ h, bob, admin }) => {
    const { item_ids } = await enqueue(h, bob.token);
    const id = must(item_ids[0], 'item');
    await setStatus(h, id, 'in_progress');
    const before = await getItem({ h, admin }, id);
    const rowsBefore = await allRows(h);
    h.events.clear();
    h.clock.advance(1000);
    const res = await h.delete(`${Q}/i/${id}`, { token: admin.token });
    expect(res.status).toBe(204);
    expect((await h.get(`${Q}/i/${id}`, { token: admin.token })).status).toBe(404);
    expect(h.workers.canceled).toEqual([id]);
    const canceled = { ...before, status: 'canceled', updated_at: now(h), completed_at: now(h) };
    const rowsAtCancel = rowsBefore.map((r) =>
      r.itemId === id
        ? { ...r, status: 'canceled' as const, updatedAt: h.clock.now(), completedAt: h.clock.now() }
        : r,
    );
    expect(h.events.events).toEqual([statusChanged(canceled as QueueItem, rowsAtCancel)]);
    expect(await auditOf({ h, admin }, res, 'queue.canceled')).toEqual([
      entry(h, res, admin, 'queue.canceled', ['queue_item', String(id)], { owner_user_id: bob.user.user_id }),
    ]);
    expect(await auditOf({ h, admin }, res, 'queue.deleted')).toEqual([
      entry(h, res, admin, 'queue.deleted', ['queue_item', String(id)], { owner_user_id: bob.user.user_id }),
    ]);
  });
});

describe('prune', () => {
  it('deletes the caller’s finished items and answers how many', async ({ admin, h }) => {
    const dave = await h.createUser({ displayName: 'Dave' });
    const { item_ids } = await enqueue(h, dave.token, { runs: 4 });
    const [pending, done, failed, canceled] = item_ids as [number, number, number, number];
    await setStatus(h, done, 'completed');
    await setStatus(h, failed, 'failed');
    expect((await h.put(`${Q}/i/${canceled}/cancel`, { token: dave.token })).status).toBe(200);
    h.events.clear();
    const res = await h.put(`${Q}/prune`, { token: dave.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: 3 });
    const list = await h.get(`${Q}/list_all?user=me`, { token: dave.token });
    expect((await list.json()).map((i: QueueItem) => i.item_id)).toEqual([pending]);
    expect(h.events.events).toEqual([]);
    expect(await auditOf({ h, admin }, res, 'queue.pruned')).toEqual([
      entry(h, res, dave, 'queue.pruned', ['queue', 'default'], { deleted: 3 }),
    ]);
  });
});

itemRoute('DELETE', '', 204);
