import { describe, expect } from 'vitest';
import type { QueueItem } from '../../src/queue/schemas.ts';
import { must } from '../helpers/common.ts';
import { type Fixtures, harnessTest } from '../helpers/fixtures.ts';
import { enqueue, Q } from '../helpers/queue.ts';
import { allRows, getItem, now, setStatus, statusChanged } from '../helpers/queue-mutations.ts';

const test = harnessTest({}, { admin: { displayName: 'Admin' } }).extend(
  'viewer',
  { scope: 'file' },
  ({ h }) => h.createUser({ displayName: 'Viewer' }),
);
const it = test;

// Queue items outlive their owner's account (LEFT JOIN users), and an account that is deactivated or
// deleted has its pending and running items canceled (API.md section 2).

test.beforeEach(({ h }) => {
  h.events.clear();
  h.workers.canceled.splice(0);
  h.clock.advance(1000);
});

const USERS = '/api/v1/users';
/**
 * A user with one item of each kind: running, two pending, completed. Returns the items as an admin saw
 * them before anything happened to the account.
 */
async function userWithItems({ h, admin }: Pick<Fixtures, 'h' | 'admin'>, displayName: string) {
  const user = await h.createUser({ displayName });
  const { item_ids } = await enqueue(h, user.token, { runs: 4, origin: 'canvas', destination: 'gallery' });
  const [running, pending1, pending2, done] = item_ids as [number, number, number, number];
  await setStatus(h, running, 'in_progress');
  await setStatus(h, done, 'completed');
  const before = new Map<number, QueueItem>();
  for (const id of item_ids) {
    before.set(id, await getItem({ h, admin }, id, admin.token));
  }
  return { user, running, pending: [pending1, pending2], done, ids: item_ids, before };
}

type Fixture = Awaited<ReturnType<typeof userWithItems>>;

/** After the account change at `now(h)`: running and pending canceled, completed untouched, events exact. */
async function expectItemsCanceled(
  { h, admin }: Pick<Fixtures, 'h' | 'admin'>,
  f: Fixture,
  names: { display: string | null; email: string | null },
) {
  const at = now(h);
  const item = (id: number, changes: Partial<QueueItem>) => ({
    ...must(f.before.get(id), 'item'),
    user_display_name: names.display,
    user_email: names.email,
    ...changes,
  });
  const canceled = { status: 'canceled', updated_at: at, completed_at: at } as const;
  const expected = [
    item(f.running, canceled),
    item(must(f.pending[0], 'pending'), canceled),
    item(must(f.pending[1], 'pending'), canceled),
    item(f.done, {}),
  ];
  for (const e of expected) {
    expect(await getItem({ h, admin }, e.item_id, admin.token)).toEqual(e);
  }
  expect(h.events.events).toEqual([
    {
      name: 'queue_items_canceled',
      queueId: 'default',
      ownerId: f.user.user.user_id,
      data: {
        queue_id: 'default',
        canceled_item_ids: [f.running, ...f.pending],
        user_id: f.user.user.user_id,
      },
    },
    statusChanged(expected[0] as QueueItem, await allRows(h)),
  ]);
  expect(h.workers.canceled).toEqual([f.running]);
}

describe('items of a deleted user (LEFT JOIN users)', () => {
  let f: Fixture;
  let deletedAt = '';
  /** An item of the deleted user as an admin sees it now. */
  const whole = (id: number): QueueItem => {
    const b = must(f.before.get(id), 'item');
    const finished =
      id === f.done ? {} : { status: 'canceled' as const, updated_at: deletedAt, completed_at: deletedAt };
    return { ...b, ...finished, user_display_name: null, user_email: null };
  };
  const redacted = (id: number): QueueItem => ({
    ...whole(id),
    batch_id: null,
    session_id: null,
    field_values: null,
    session: null,
    workflow: null,
    origin: null,
    destination: null,
    error_type: null,
    error_message: null,
    error_traceback: null,
    retried_from_item_id: null,
    user_email: null,
    redacted: true,
  });

  test.beforeAll(async ({ h, admin }) => {
    f = await userWithItems({ h, admin }, 'Gone');
    h.clock.advance(1000);
    deletedAt = now(h);
    const res = await h.delete(`${USERS}/${f.user.user.user_id}`, { token: admin.token });
    expect(res.status).toBe(204);
  });

  it('still list for an admin, whole, with null names and their user_id', async ({ h, admin }) => {
    const res = await h.get(`${Q}/list_all`, { token: admin.token });
    expect(res.status).toBe(200);
    const items = (await res.json()) as QueueItem[];
    expect(items.filter((i) => i.user_id === f.user.user.user_id)).toEqual(f.ids.map(whole));
    const page = await h.get(`${Q}/list?limit=200`, { token: admin.token });
    const pageItems = (await page.json()).items as QueueItem[];
    expect(pageItems.filter((i) => i.user_id === f.user.user.user_id)).toEqual(f.ids.map(whole));
  });

  it('still list for another user, redacted, with null names and their user_id', async ({ h, viewer }) => {
    const res = await h.get(`${Q}/list_all`, { token: viewer.token });
    expect(res.status).toBe(200);
    const items = (await res.json()) as QueueItem[];
    expect(items.filter((i) => i.user_id === f.user.user.user_id)).toEqual(f.ids.map(redacted));
    const page = await h.get(`${Q}/list?limit=200`, { token: viewer.token });
    const pageItems = (await page.json()).items as QueueItem[];
    expect(pageItems.filter((i) => i.user_id === f.user.user.user_id)).toEqual(f.ids.map(redacted));
  });

  it('GET i/{item_id} and items_by_ids answer them too', async ({ h, admin, viewer }) => {
    for (const id of f.ids) {
      expect(await getItem({ h, admin }, id, admin.token)).toEqual(whole(id));
      expect(await getItem({ h, admin }, id, viewer.token)).toEqual(redacted(id));
    }
    const res = await h.post(`${Q}/items_by_ids`, { token: viewer.token, json: { item_ids: f.ids } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(f.ids.map(redacted));
  });
});

describe('deactivating or deleting a user cancels their work', () => {
  it('DELETE /users/{id}: items canceled, names gone, one queue_items_canceled', async ({ h, admin }) => {
    const f = await userWithItems({ h, admin }, 'Leaving');
    const other = await userWithItems({ h, admin }, 'Staying');
    h.events.clear();
    h.workers.canceled.splice(0);
    h.clock.advance(1000);
    const res = await h.delete(`${USERS}/${f.user.user.user_id}`, { token: admin.token });
    expect(res.status).toBe(204);
    await expectItemsCanceled({ h, admin }, f, { display: null, email: null });
    // Another user's items are untouched.
    for (const id of other.ids) {
      expect(await getItem({ h, admin }, id, admin.token)).toEqual(other.before.get(id));
    }
  });

  it('PATCH /users/{id} { is_active: false }: items canceled, names kept', async ({ h, admin }) => {
    const f = await userWithItems({ h, admin }, 'Paused');
    h.events.clear();
    h.workers.canceled.splice(0);
    h.clock.advance(1000);
    const res = await h.patch(`${USERS}/${f.user.user.user_id}`, {
      token: admin.token,
      json: { is_active: false },
    });
    expect(res.status).toBe(200);
    await expectItemsCanceled({ h, admin }, f, { display: 'Paused', email: f.user.user.email });
  });

  it('other PATCHes (rename, promotion, reactivation) cancel nothing', async ({ h, admin, viewer }) => {
    const f = await userWithItems({ h, admin }, 'Renamed');
    const rowsBefore = await allRows(h);
    h.events.clear();
    for (const patch of [{ display_name: 'Renamed Again' }, { is_admin: true }, { is_active: true }]) {
      const res = await h.patch(`${USERS}/${f.user.user.user_id}`, { token: admin.token, json: patch });
      expect(res.status, JSON.stringify(patch)).toBe(200);
    }
    expect(await allRows(h)).toEqual(rowsBefore);
    expect(h.events.events).toEqual([]);
    expect(h.workers.canceled).toEqual([]);
    expect((await getItem({ h, admin }, f.done, viewer.token)).user_display_name).toBe('Renamed Again');
  });

  it('deactivating an already inactive user cancels nothing more', async ({ h, admin }) => {
    const f = await userWithItems({ h, admin }, 'Twice');
    const patch = { token: admin.token, json: { is_active: false } };
    expect((await h.patch(`${USERS}/${f.user.user.user_id}`, patch)).status).toBe(200);
    const rowsBefore = await allRows(h);
    h.events.clear();
    h.workers.canceled.splice(0);
    expect((await h.patch(`${USERS}/${f.user.user.user_id}`, patch)).status).toBe(200);
    expect(await allRows(h)).toEqual(rowsBefore);
    expect(h.events.events).toEqual([]);
  });
});
