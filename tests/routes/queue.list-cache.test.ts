import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { queueReadCacheOf } from '../../src/queue/counts-cache.ts';
import type { QueueItem } from '../../src/queue/schemas.ts';
import { writeUnannounced } from '../helpers/database.ts';
import { harnessTest } from '../helpers/fixtures.ts';
import type { Harness } from '../helpers/harness.ts';
import { enqueue, Q } from '../helpers/queue.ts';

const test = harnessTest({}, { admin: { displayName: 'Admin' } });
const it = test;

// The first page of `GET …/list` is kept (on both databases) until a write to the queue or the users commits
// (src/queue/counts-cache.ts): whatever changes what the page shows must show on the next request.
const firstPage = async (h: Harness, token: string, query = '') => {
  const res = await h.get(`${Q}/list?limit=50${query}`, { token });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: QueueItem[] }).items.map(
    (i) => `${i.item_id}:${i.status}:${i.user_display_name}`,
  );
};

describe('the first list page after a write', () => {
  it('shows a rename, an enqueue and a cancel on the next request', async ({ h, admin }) => {
    await queueReadCacheOf(h.db)?.ready;
    const user = await h.createUser({ displayName: 'Before' });
    const { item_ids } = await enqueue(h, user.token, { runs: 2 });
    const [a, b] = item_ids as [number, number];
    expect(await firstPage(h, admin.token)).toEqual([`${a}:pending:Before`, `${b}:pending:Before`]);
    const renamed = await h.patch(`/api/v1/users/${user.user.user_id}`, {
      token: admin.token,
      json: { display_name: 'After' },
    });
    expect(renamed.status).toBe(200);
    expect(await firstPage(h, admin.token)).toEqual([`${a}:pending:After`, `${b}:pending:After`]);
    const more = await enqueue(h, user.token, { runs: 1 });
    const [c] = more.item_ids as [number];
    expect(await firstPage(h, admin.token)).toEqual([
      `${a}:pending:After`,
      `${b}:pending:After`,
      `${c}:pending:After`,
    ]);
    expect((await h.put(`${Q}/i/${b}/cancel`, { token: user.token })).status).toBe(200);
    expect(await firstPage(h, user.token)).toEqual([
      `${a}:pending:After`,
      `${b}:canceled:After`,
      `${c}:pending:After`,
    ]);
  });

  it('is the kept page until then (a write without the notice or the bump is not seen)', async ({ h }) => {
    await queueReadCacheOf(h.db)?.ready;
    const user = await h.createUser({ displayName: 'Kept' });
    const { item_ids } = await enqueue(h, user.token, { runs: 1 });
    const [a] = item_ids as [number];
    expect(await firstPage(h, user.token, '&user=me')).toEqual([`${a}:pending:Kept`]);
    await writeUnannounced(h.db, sql`UPDATE session_queue SET status = 'failed' WHERE item_id = ${a}`);
    expect(await firstPage(h, user.token, '&user=me')).toEqual([`${a}:pending:Kept`]);
    // Another limit is another page: read now.
    const res = await h.get(`${Q}/list?limit=10&user=me`, { token: user.token });
    expect(((await res.json()) as { items: QueueItem[] }).items.map((i) => i.status)).toEqual(['failed']);
  });
});

describe('the whole list (list_all) after a write', () => {
  const all = async (h: Harness, token: string, query = '') => {
    const res = await h.get(`${Q}/list_all${query}`, { token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    return ((await res.json()) as QueueItem[]).map(
      (i) => `${i.item_id}:${i.status}:${i.user_display_name}:${i.redacted}`,
    );
  };

  it('shows a rename, an enqueue and a cancel on the next request, redacted per caller, and the kept list until then', async ({
    h,
    admin,
  }) => {
    await queueReadCacheOf(h.db)?.ready;
    await h.db.execute(sql`DELETE FROM session_queue`);
    const owner = await h.createUser({ displayName: 'Owner' });
    const other = await h.createUser();
    const [a] = (await enqueue(h, owner.token, { runs: 1 })).item_ids as [number];
    expect(await all(h, owner.token)).toEqual([`${a}:pending:Owner:false`]);
    // The same query by another caller: their own body, the owner's item redacted for them.
    expect(await all(h, other.token)).toEqual([`${a}:pending:Owner:true`]);
    expect(await all(h, other.token, '?user=me')).toEqual([]);
    await writeUnannounced(h.db, sql`UPDATE session_queue SET status = 'failed' WHERE item_id = ${a}`);
    expect(await all(h, owner.token)).toEqual([`${a}:pending:Owner:false`]);
    // Another filter is another list: read now.
    expect(await all(h, owner.token, '?status=failed')).toEqual([`${a}:failed:Owner:false`]);
    const renamed = await h.patch(`/api/v1/users/${owner.user.user_id}`, {
      token: admin.token,
      json: { display_name: 'Renamed' },
    });
    expect(renamed.status).toBe(200);
    expect(await all(h, owner.token)).toEqual([`${a}:failed:Renamed:false`]);
    const [b] = (await enqueue(h, owner.token, { runs: 1 })).item_ids as [number];
    expect(await all(h, admin.token)).toEqual([`${a}:failed:Renamed:false`, `${b}:pending:Renamed:false`]);
    expect((await h.put(`${Q}/i/${b}/cancel`, { token: owner.token })).status).toBe(200);
    expect(await all(h, owner.token)).toEqual([`${a}:failed:Renamed:false`, `${b}:canceled:Renamed:false`]);
  });
});

describe('one item after a write', () => {
  const oneItem = async (h: Harness, token: string, id: number) => {
    const res = await h.get(`${Q}/i/${id}`, { token });
    expect(res.status).toBe(200);
    const item = (await res.json()) as QueueItem;
    return `${item.item_id}:${item.status}:${item.user_display_name}:${item.redacted}`;
  };

  it('shows a rename and a cancel on the next request, redacted per caller, and the kept item until then', async ({
    h,
    admin,
  }) => {
    await queueReadCacheOf(h.db)?.ready;
    const owner = await h.createUser({ displayName: 'Owner' });
    const other = await h.createUser();
    const [id] = (await enqueue(h, owner.token, { runs: 1 })).item_ids as [number];
    expect(await oneItem(h, owner.token, id)).toBe(`${id}:pending:Owner:false`);
    // The same kept row, redacted for another user.
    expect(await oneItem(h, other.token, id)).toBe(`${id}:pending:Owner:true`);
    expect((await h.get(`${Q}/i/${id}`, { token: other.token }).then((r) => r.json())).session).toBeNull();
    await writeUnannounced(h.db, sql`UPDATE session_queue SET status = 'failed' WHERE item_id = ${id}`);
    expect(await oneItem(h, owner.token, id)).toBe(`${id}:pending:Owner:false`);
    const renamed = await h.patch(`/api/v1/users/${owner.user.user_id}`, {
      token: admin.token,
      json: { display_name: 'Renamed' },
    });
    expect(renamed.status).toBe(200);
    expect(await oneItem(h, owner.token, id)).toBe(`${id}:failed:Renamed:false`);
    await writeUnannounced(h.db, sql`UPDATE session_queue SET status = 'pending' WHERE item_id = ${id}`);
    expect((await h.put(`${Q}/i/${id}/cancel`, { token: owner.token })).status).toBe(200);
    expect(await oneItem(h, admin.token, id)).toBe(`${id}:canceled:Renamed:false`);
    expect((await h.delete(`${Q}/i/${id}`, { token: owner.token })).status).toBe(204);
    expect((await h.get(`${Q}/i/${id}`, { token: owner.token })).status).toBe(404);
  });
});
