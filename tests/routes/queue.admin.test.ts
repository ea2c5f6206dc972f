import { describe, expect } from 'vitest';
import { must } from '../helpers/common.ts';
import { enqueue, Q } from '../helpers/queue.ts';
import {
  allRows,
  auditOf,
  entry,
  freshBeforeEach,
  getItem,
  it,
  now,
  setStatus,
  test,
} from '../helpers/queue-mutations.ts';
import { runCommonAuthTests } from '../helpers/security.ts';

freshBeforeEach();

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
