import { describe, expect } from 'vitest';
import { problem } from '../helpers/harness.ts';
import { Q } from '../helpers/queue.ts';
import {
  ALL,
  it,
  mine,
  REDACTED_FIELDS,
  seen,
  viewer,
  type Who,
  type World,
} from '../helpers/queue-world.ts';

describe('the redaction itself', () => {
  it('the failed item carries a value in every redactable field, so the matrix tests each of them', ({
    w,
  }) => {
    for (const field of REDACTED_FIELDS) {
      expect(w.full.a2[field], field).not.toBeNull();
    }
  });

  it('another user sees exactly the kept fields of an item, the rest null', async ({ h, alice, bob, w }) => {
    const res = await h.get(`${Q}/i/${w.ids.a2}`, { token: bob.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      item_id: w.ids.a2,
      queue_id: 'default',
      batch_id: null,
      session_id: null,
      status: 'failed',
      priority: 0,
      origin: null,
      destination: null,
      field_values: null,
      session: null,
      workflow: null,
      error_type: null,
      error_message: null,
      error_traceback: null,
      created_at: w.full.a2.created_at,
      updated_at: w.full.a2.updated_at,
      started_at: w.full.a2.started_at,
      completed_at: w.full.a2.completed_at,
      retried_from_item_id: null,
      worker_id: null,
      device: null,
      user_id: alice.user.user_id,
      user_display_name: 'Alice',
      user_email: null,
      redacted: true,
    });
  });

  it('the owner and an admin see the same item whole', async ({ h, alice, admin, w }) => {
    for (const token of [alice.token, admin.token]) {
      const res = await h.get(`${Q}/i/${w.ids.a2}`, { token });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(w.full.a2);
    }
  });
});

describe.each<Who>(['alice', 'bob', 'admin'])('read routes as %s', (who) => {
  const token = (w: World) => viewer(w, who).token;

  it('GET i/{item_id} for every item', async ({ h, w }) => {
    for (const key of ALL) {
      const res = await h.get(`${Q}/i/${w.ids[key]}`, { token: token(w) });
      expect(res.status, key).toBe(200);
      expect(await res.json(), key).toEqual(seen(w, who, key));
    }
  });

  it('GET i/{item_id} of an unknown item is 404', async ({ h, w }) => {
    const res = await h.get(`${Q}/i/999999`, { token: token(w) });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(
      problem(res, 'not_found', 404, 'Not found', 'Queue item 999999 was not found'),
    );
  });

  it('GET list shows every item (user=all is the default)', async ({ h, w }) => {
    for (const qs of ['', '?user=all', '?limit=200&user=all']) {
      const res = await h.get(`${Q}/list${qs}`, { token: token(w) });
      expect(res.status, qs).toBe(200);
      expect(await res.json(), qs).toEqual({
        items: ALL.map((k) => seen(w, who, k)),
        has_more: false,
        next_cursor: null,
      });
    }
  });

  it('GET list pages keep the redaction', async ({ h, w }) => {
    const first = await h.get(`${Q}/list?limit=3`, { token: token(w) });
    expect(first.status).toBe(200);
    const page1 = await first.json();
    expect(page1).toEqual({
      items: (['a1', 'a2', 'a3'] as const).map((k) => seen(w, who, k)),
      has_more: true,
      next_cursor: expect.any(String),
    });
    const second = await h.get(`${Q}/list?limit=3&cursor=${page1.next_cursor}`, { token: token(w) });
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({ items: [seen(w, who, 'b1')], has_more: false, next_cursor: null });
  });

  it('GET list with user=me shows only the caller’s items', async ({ h, w }) => {
    const res = await h.get(`${Q}/list?user=me`, { token: token(w) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      items: mine(w, who).map((k) => w.full[k]),
      has_more: false,
      next_cursor: null,
    });
  });

  it('GET list with a status filter', async ({ h, w }) => {
    const res = await h.get(`${Q}/list?status=failed`, { token: token(w) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ items: [seen(w, who, 'a2')], has_more: false, next_cursor: null });
  });

  it('GET list_all shows every item; user=me only the caller’s', async ({ h, w }) => {
    for (const qs of ['', '?user=all']) {
      const res = await h.get(`${Q}/list_all${qs}`, { token: token(w) });
      expect(res.status, qs).toBe(200);
      expect(await res.json(), qs).toEqual(ALL.map((k) => seen(w, who, k)));
    }
    const res = await h.get(`${Q}/list_all?user=me`, { token: token(w) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(mine(w, who).map((k) => w.full[k]));
  });

  it('GET list_all with a status filter', async ({ h, w }) => {
    const res = await h.get(`${Q}/list_all?status=in_progress`, { token: token(w) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([seen(w, who, 'a1')]);
  });

  it('GET list_all with a destination filter matches only destinations the caller may see', async ({
    h,
    w,
  }) => {
    // A redacted item's destination is null to this viewer, so filtering on it must not reveal it.
    for (const [destination, keys] of [
      ['alice-gallery', ['a1', 'a2', 'a3']],
      ['bob-gallery', ['b1']],
    ] as const) {
      const res = await h.get(`${Q}/list_all?destination=${destination}`, { token: token(w) });
      expect(res.status, destination).toBe(200);
      const visible = keys.filter((k) => seen(w, who, k).redacted === false);
      expect(await res.json(), destination).toEqual(visible.map((k) => w.full[k]));
    }
  });

  it('POST items_by_ids answers in request order, unknown ids skipped', async ({ h, w }) => {
    const res = await h.post(`${Q}/items_by_ids`, {
      token: token(w),
      json: { item_ids: [w.ids.b1, w.ids.a3, 999999, w.ids.a1, w.ids.a2, w.ids.a3] },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([
      seen(w, who, 'b1'),
      seen(w, who, 'a3'),
      seen(w, who, 'a1'),
      seen(w, who, 'a2'),
      seen(w, who, 'a3'),
    ]);
  });

  it('GET current is the item in progress', async ({ h, w }) => {
    const res = await h.get(`${Q}/current`, { token: token(w) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(seen(w, who, 'a1'));
  });

  it('GET next is the pending item', async ({ h, w }) => {
    const res = await h.get(`${Q}/next`, { token: token(w) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(seen(w, who, 'a3'));
  });
});
