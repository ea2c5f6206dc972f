import { asc, eq } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { sessionQueue } from '../../src/db/schema/index.ts';
import type { QueueItem } from '../../src/queue/schemas.ts';
import { must } from '../helpers/common.ts';
import { type Fixtures, harnessTest, NAMED_USERS } from '../helpers/fixtures.ts';
import type { Harness, TestUser } from '../helpers/harness.ts';
import { enqueue, Q } from '../helpers/queue.ts';
import { runCommonAuthTests } from '../helpers/security.ts';

const test = harnessTest({}, NAMED_USERS);
const it = test;

test.beforeEach(({ h }) => {
  h.events.clear();
  h.workers.canceled.splice(0);
  // Every mutation happens a second after whatever came before, so changed timestamps are visible.
  h.clock.advance(1000);
});

type Row = typeof sessionQueue.$inferSelect;
type Status = Row['status'];
const now = (h: Harness) => h.clock.now().toISOString();

const allRows = (h: Harness) => h.db.select().from(sessionQueue).orderBy(asc(sessionQueue.itemId));

function counts(rows: Row[]) {
  const n = (s: Status) => rows.filter((r) => r.status === s).length;
  return {
    pending: n('pending'),
    in_progress: n('in_progress'),
    completed: n('completed'),
    failed: n('failed'),
    canceled: n('canceled'),
    total: rows.length,
  };
}

/** `queue_status` of a `queue_item_status_changed` event over these rows. */
function queueStatusOf(rows: Row[]) {
  const running = rows
    .filter((r) => r.status === 'in_progress')
    .sort((a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0) || a.itemId - b.itemId);
  return { queue_id: 'default', item_id: running[0]?.itemId ?? null, ...counts(rows) };
}

/** `batch_status` of a `queue_item_status_changed` event: the owner's items of the batch. */
function batchStatusOf(rows: Row[], batchId: string, userId: string) {
  const mine = rows.filter((r) => r.batchId === batchId && r.userId === userId);
  const first = mine[0];
  return {
    queue_id: 'default',
    batch_id: batchId,
    origin: first?.origin ?? null,
    destination: first?.destination ?? null,
    ...counts(mine),
  };
}

function statusChanged(item: QueueItem, rows: Row[]) {
  return {
    name: 'queue_item_status_changed',
    queueId: 'default',
    ownerId: item.user_id,
    data: {
      queue_id: 'default',
      item_id: item.item_id,
      batch_id: item.batch_id,
      session_id: item.session_id,
      user_id: item.user_id,
      status: item.status,
      error_type: item.error_type,
      error_message: item.error_message,
      created_at: item.created_at,
      updated_at: item.updated_at,
      started_at: item.started_at,
      completed_at: item.completed_at,
      batch_status: batchStatusOf(rows, must(item.batch_id ?? undefined, 'batch id'), item.user_id),
      queue_status: queueStatusOf(rows),
    },
  };
}

function canceledEvent(userId: string, ids: number[]) {
  return {
    name: 'queue_items_canceled',
    queueId: 'default',
    ownerId: userId,
    data: { queue_id: 'default', canceled_item_ids: ids, user_id: userId },
  };
}

async function getItem(
  { h, admin }: Pick<Fixtures, 'h' | 'admin'>,
  id: number,
  token = admin.token,
): Promise<QueueItem> {
  const res = await h.get(`${Q}/i/${id}`, { token });
  expect(res.status).toBe(200);
  return res.json();
}

/** Sets an item's state directly, as the processor would. */
async function setStatus(h: Harness, itemId: number, status: 'completed' | 'failed' | 'in_progress') {
  const at = h.clock.now();
  await h.db
    .update(sessionQueue)
    .set({
      status,
      startedAt: at,
      completedAt: status === 'in_progress' ? null : at,
      updatedAt: at,
      ...(status === 'failed'
        ? { errorType: 'RuntimeError', errorMessage: 'boom', errorTraceback: 'Traceback …' }
        : {}),
    })
    .where(eq(sessionQueue.itemId, itemId));
}

interface AuditEntry {
  id: string;
  at: string;
  actor_user_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: Record<string, unknown>;
  request_id: string | null;
}

/** The audit entries (newest first) of `action` written by the request that gave `res`. */
async function auditOf(
  { h, admin }: Pick<Fixtures, 'h' | 'admin'>,
  res: Response,
  action: string,
): Promise<AuditEntry[]> {
  const r = await h.get(`/api/v1/audit?action=${action}&limit=200`, { token: admin.token });
  expect(r.status).toBe(200);
  const { items } = (await r.json()) as { items: AuditEntry[] };
  return items.filter((e) => e.request_id === res.headers.get('x-request-id'));
}

function entry(
  h: Harness,
  res: Response,
  actor: TestUser,
  action: string,
  target: [string, string],
  details: Record<string, unknown>,
) {
  return {
    id: expect.any(String),
    at: now(h),
    actor_user_id: actor.user.user_id,
    action,
    target_type: target[0],
    target_id: target[1],
    details,
    request_id: res.headers.get('x-request-id'),
  };
}

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

describe('owner transfer', () => {
  it('gives the item to the target, with its names, and is audited', async ({ h, alice, bob, admin }) => {
    const { item_ids } = await enqueue(h, alice.token);
    const id = must(item_ids[0], 'item');
    const before = await getItem({ h, admin }, id, alice.token);
    h.events.clear();
    h.clock.advance(1000);
    const res = await h.put(`${Q}/i/${id}/owner`, {
      token: admin.token,
      json: { user_id: bob.user.user_id },
    });
    expect(res.status).toBe(200);
    const expected = {
      ...before,
      user_id: bob.user.user_id,
      user_display_name: 'Bob',
      user_email: bob.user.email,
      updated_at: now(h),
    };
    expect(await res.json()).toEqual(expected);
    expect(await getItem({ h, admin }, id, bob.token)).toEqual(expected);
    expect((await getItem({ h, admin }, id, alice.token)).redacted).toBe(true);
    expect(h.events.events).toEqual([]);
    expect(await auditOf({ h, admin }, res, 'queue.owner_changed')).toEqual([
      entry(h, res, admin, 'queue.owner_changed', ['queue_item', String(id)], {
        from_user_id: alice.user.user_id,
        to_user_id: bob.user.user_id,
      }),
    ]);
    // The new owner may now change it; the former owner may not.
    expect((await h.put(`${Q}/i/${id}/cancel`, { token: alice.token })).status).toBe(403);
    expect((await h.put(`${Q}/i/${id}/cancel`, { token: bob.token })).status).toBe(200);
  });
});

describe('processor pause and resume', () => {
  it('pause stops taking items, resume starts again; status follows', async ({ h, alice, admin }) => {
    const paused = await h.put(`${Q}/processor/pause`, { token: admin.token });
    expect(paused.status).toBe(200);
    expect(await paused.json()).toEqual({ is_started: false, is_processing: false });
    const status = await (await h.get(`${Q}/status`, { token: alice.token })).json();
    expect(status.processor).toEqual({ is_started: false, is_processing: false });
    const again = await h.put(`${Q}/processor/pause`, { token: admin.token });
    expect(await again.json()).toEqual({ is_started: false, is_processing: false });

    const resumed = await h.put(`${Q}/processor/resume`, { token: admin.token });
    expect(resumed.status).toBe(200);
    expect(await resumed.json()).toEqual({ is_started: true, is_processing: false });
    const after = await (await h.get(`${Q}/status`, { token: alice.token })).json();
    expect(after.processor).toEqual({ is_started: true, is_processing: false });
    expect(h.events.events).toEqual([]);
  });
});

describe('clear', () => {
  it('deletes every item, stops the running one, emits queue_cleared and is audited', async ({
    h,
    bob,
    admin,
  }) => {
    const { item_ids } = await enqueue(h, bob.token, { runs: 2 });
    const running = must(item_ids[0], 'item');
    await setStatus(h, running, 'in_progress');
    const rows = await allRows(h);
    const runningIds = rows.filter((r) => r.status === 'in_progress').map((r) => r.itemId);
    expect(runningIds).toContain(running);
    h.events.clear();
    const res = await h.put(`${Q}/clear`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: rows.length });
    expect(await allRows(h)).toEqual([]);
    expect(h.workers.canceled).toEqual(runningIds);
    expect(h.events.events).toEqual([
      { name: 'queue_cleared', queueId: 'default', ownerId: null, data: { queue_id: 'default' } },
    ]);
    expect(await auditOf({ h, admin }, res, 'queue.cleared')).toEqual([
      entry(h, res, admin, 'queue.cleared', ['queue', 'default'], { deleted: rows.length }),
    ]);
    const list = await h.get(`${Q}/list_all`, { token: admin.token });
    expect(await list.json()).toEqual([]);
  });
});

/** The shared suite on a route of one queue item of the owner's: another user is 403, an admin reaches it. */
const itemRoute = (method: 'PUT' | 'DELETE', suffix: string, adminStatus: number) =>
  runCommonAuthTests(test, `${method} /api/v1/queue/{queue_id}/i/{item_id}${suffix}`, {
    otherUser: 'forbidden',
    prepareRequest: async (h, owner) => {
      const id = must((await enqueue(h, owner.token)).item_ids[0], 'item');
      return {
        method,
        path: `${Q}/i/${id}${suffix}`,
        forbiddenDetail: `Queue item ${id} belongs to another user.`,
        adminStatus,
      };
    },
  });
itemRoute('PUT', '/cancel', 200);
itemRoute('DELETE', '', 204);

runCommonAuthTests(test, 'PUT /api/v1/queue/{queue_id}/i/{item_id}/owner', {
  otherUser: 'forbidden',
  prepareRequest: async (h, owner) => {
    const id = must((await enqueue(h, owner.token)).item_ids[0], 'item');
    const to = await h.createUser();
    return {
      method: 'PUT',
      path: `${Q}/i/${id}/owner`,
      json: { user_id: to.user.user_id },
      forbiddenDetail: 'This action needs an admin.',
      adminStatus: 200,
    };
  },
});
