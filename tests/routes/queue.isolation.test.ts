import { eq } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { sessionQueue } from '../../src/db/schema/index.ts';
import type { QueueItem } from '../../src/queue/schemas.ts';
import { claimNext } from '../../src/worker/claim.ts';
import { must } from '../helpers/common.ts';
import { type Fixtures, harnessTest, NAMED_USERS } from '../helpers/fixtures.ts';
import { textToImageGraph } from '../helpers/graphs.ts';
import { expectProblem, problem, type TestUser } from '../helpers/harness.ts';
import { enqueue, Q } from '../helpers/queue.ts';
import { runCommonAuthTests } from '../helpers/security.ts';

// The isolation matrix of API.md section 4: owner, another user and an admin against every read route.
// Every test here only reads; the queue is built once in beforeAll, so the counts below are exact.

/** The fields API.md section 4 nulls for a viewer who is neither the owner nor an admin. */
const REDACTED_FIELDS = [
  'batch_id',
  'session_id',
  'field_values',
  'session',
  'workflow',
  'origin',
  'destination',
  'error_type',
  'error_message',
  'error_traceback',
  'retried_from_item_id',
  'user_email',
] as const;

function hidden(item: QueueItem): QueueItem {
  return {
    ...item,
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
  };
}

const PROMPTS = ['alice secret one', 'alice secret two', 'alice secret three'];
const ZERO = { pending: 0, in_progress: 0, completed: 0, failed: 0, canceled: 0, total: 0 };

/** The queue every test reads (built once, the first time a test asks for it), and the file's users. */
interface World extends Pick<Fixtures, 'alice' | 'bob' | 'admin'> {
  /** Alice's items: a1 in progress (claimed), a2 failed with every field set, a3 pending. Bob's b1 completed. */
  ids: { a1: number; a2: number; a3: number; b1: number };
  aliceBatch: string;
  bobBatch: string;
  /** Each item as its owner and admins see it. */
  full: Record<'a1' | 'a2' | 'a3' | 'b1', QueueItem>;
}

const test = harnessTest({}, NAMED_USERS).extend(
  'w',
  { scope: 'file' },
  async ({ h, alice, bob, admin }): Promise<World> => {
    const ids = { a1: 0, a2: 0, a3: 0, b1: 0 };
    /** Each item as its owner and admins see it. */
    const full: Record<'a1' | 'a2' | 'a3' | 'b1', QueueItem> = {} as Record<
      'a1' | 'a2' | 'a3' | 'b1',
      QueueItem
    >;

    const t0 = h.clock.now().toISOString();
    const resA = await h.post(`${Q}/enqueue_batch`, {
      token: alice.token,
      json: {
        batch: {
          graph: textToImageGraph({ prompt: 'placeholder' }),
          workflow: { name: 'alice workflow' },
          data: [[{ node_path: 'positive', field_name: 'prompt', items: PROMPTS }]],
          origin: 'alice-origin',
          destination: 'alice-gallery',
        },
      },
    });
    expect(resA.status).toBe(201);
    const bodyA = await resA.json();
    const aliceBatch = bodyA.batch.batch_id;
    [ids.a1, ids.a2, ids.a3] = bodyA.item_ids;

    const resB = await h.post(`${Q}/enqueue_batch`, {
      token: bob.token,
      json: {
        batch: {
          graph: textToImageGraph({ prompt: 'bob secret' }),
          workflow: { name: 'bob workflow' },
          origin: 'bob-origin',
          destination: 'bob-gallery',
        },
      },
    });
    expect(resB.status).toBe(201);
    const bodyB = await resB.json();
    const bobBatch = bodyB.batch.batch_id;
    [ids.b1] = bodyB.item_ids;

    h.clock.advance(60_000);
    const t1Date = h.clock.now();
    const t1 = t1Date.toISOString();
    await h.db
      .update(sessionQueue)
      .set({ status: 'completed', startedAt: t1Date, completedAt: t1Date, updatedAt: t1Date })
      .where(eq(sessionQueue.itemId, ids.b1));
    const claimed = await claimNext(h.db, {
      queueId: 'default',
      fairness: 'round_robin',
      workerId: 'test/0:cpu',
      device: 'cpu',
      now: t1Date,
    });
    expect(claimed?.itemId).toBe(ids.a1);
    await h.db
      .update(sessionQueue)
      .set({
        status: 'failed',
        startedAt: t1Date,
        completedAt: t1Date,
        updatedAt: t1Date,
        errorType: 'RuntimeError',
        errorMessage: 'alice secret error',
        errorTraceback: 'Traceback (most recent call last):\n  alice secret frame',
        // As if a2 were the retry of a1: every redactable field of a2 holds a value.
        retriedFromItemId: ids.a1,
      })
      .where(eq(sessionQueue.itemId, ids.a2));

    const sessionIds = new Map(
      (
        await h.db
          .select({ itemId: sessionQueue.itemId, sessionId: sessionQueue.sessionId })
          .from(sessionQueue)
      ).map((r) => [r.itemId, r.sessionId]),
    );
    const aliceItem = (id: number, i: number): QueueItem => {
      const sessionId = must(sessionIds.get(id), 'session id');
      return {
        item_id: id,
        queue_id: 'default',
        batch_id: aliceBatch,
        session_id: sessionId,
        status: 'pending',
        priority: 0,
        origin: 'alice-origin',
        destination: 'alice-gallery',
        field_values: [{ node_path: 'positive', field_name: 'prompt', value: PROMPTS[i] }],
        session: { id: sessionId, graph: textToImageGraph({ prompt: PROMPTS[i] }) },
        workflow: { name: 'alice workflow' },
        error_type: null,
        error_message: null,
        error_traceback: null,
        created_at: t0,
        updated_at: t0,
        started_at: null,
        completed_at: null,
        retried_from_item_id: null,
        worker_id: null,
        device: null,
        user_id: alice.user.user_id,
        user_display_name: 'Alice',
        user_email: alice.user.email,
        redacted: false,
      };
    };
    full.a1 = {
      ...aliceItem(ids.a1, 0),
      status: 'in_progress',
      updated_at: t1,
      started_at: t1,
      // Who runs an item is shown to everyone, like its status (API.md section 8).
      worker_id: 'test/0:cpu',
      device: 'cpu',
    };
    full.a2 = {
      ...aliceItem(ids.a2, 1),
      status: 'failed',
      error_type: 'RuntimeError',
      error_message: 'alice secret error',
      error_traceback: 'Traceback (most recent call last):\n  alice secret frame',
      updated_at: t1,
      started_at: t1,
      completed_at: t1,
      retried_from_item_id: ids.a1,
    };
    full.a3 = aliceItem(ids.a3, 2);
    const b1Session = must(sessionIds.get(ids.b1), 'session id');
    full.b1 = {
      item_id: ids.b1,
      queue_id: 'default',
      batch_id: bobBatch,
      session_id: b1Session,
      status: 'completed',
      priority: 0,
      origin: 'bob-origin',
      destination: 'bob-gallery',
      field_values: null,
      session: { id: b1Session, graph: textToImageGraph({ prompt: 'bob secret' }) },
      workflow: { name: 'bob workflow' },
      error_type: null,
      error_message: null,
      error_traceback: null,
      created_at: t0,
      updated_at: t1,
      started_at: t1,
      completed_at: t1,
      retried_from_item_id: null,
      worker_id: null,
      device: null,
      user_id: bob.user.user_id,
      user_display_name: 'Bob',
      user_email: bob.user.email,
      redacted: false,
    };
    return { ids, aliceBatch, bobBatch, full, alice, bob, admin };
  },
);
const it = test;

type Who = 'alice' | 'bob' | 'admin';
const viewer = (w: World, who: Who): TestUser => w[who];
/** An item as `who` must see it: whole for its owner and admins, redacted for anyone else. */
function seen(w: World, who: Who, key: keyof World['ids']): QueueItem {
  const item = w.full[key];
  const v = viewer(w, who);
  return v.user.is_admin || v.user.user_id === item.user_id ? item : hidden(item);
}
const ALL = ['a1', 'a2', 'a3', 'b1'] as const;
const mine = (w: World, who: Who) => ALL.filter((k) => w.full[k].user_id === viewer(w, who).user.user_id);

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

  it('GET status counts the whole queue and the caller’s own items', async ({ h, w }) => {
    const res = await h.get(`${Q}/status`, { token: token(w) });
    expect(res.status).toBe(200);
    const own = {
      alice: { pending: 1, in_progress: 1, completed: 0, failed: 1, canceled: 0, total: 3 },
      bob: { ...ZERO, completed: 1, total: 1 },
      admin: ZERO,
    }[who];
    expect(await res.json()).toEqual({
      queue: {
        queue_id: 'default',
        item_id: w.ids.a1,
        pending: 1,
        in_progress: 1,
        completed: 1,
        failed: 1,
        canceled: 0,
        total: 4,
      },
      mine: own,
      processor: { is_started: true, is_processing: false },
    });
  });

  it('GET b/{batch_id}/status: the owner and admins see it, anyone else gets 404', async ({ h, w }) => {
    const expected = {
      [w.aliceBatch]: {
        owner: 'alice',
        body: {
          queue_id: 'default',
          batch_id: w.aliceBatch,
          origin: 'alice-origin',
          destination: 'alice-gallery',
          pending: 1,
          in_progress: 1,
          completed: 0,
          failed: 1,
          canceled: 0,
          total: 3,
        },
      },
      [w.bobBatch]: {
        owner: 'bob',
        body: {
          queue_id: 'default',
          batch_id: w.bobBatch,
          origin: 'bob-origin',
          destination: 'bob-gallery',
          ...ZERO,
          completed: 1,
          total: 1,
        },
      },
    };
    for (const [batchId, { owner, body }] of Object.entries(expected)) {
      const res = await h.get(`${Q}/b/${batchId}/status`, { token: token(w) });
      if (who === owner || who === 'admin') {
        expect(res.status, batchId).toBe(200);
        expect(await res.json(), batchId).toEqual(body);
      } else {
        expect(res.status, batchId).toBe(404);
        expect(await res.json()).toEqual(
          problem(res, 'not_found', 404, 'Not found', `Batch ${batchId} was not found`),
        );
      }
    }
  });

  it('GET b/{batch_id}/status of an unknown batch is 404', async ({ h, w }) => {
    const res = await h.get(`${Q}/b/no-such-batch/status`, { token: token(w) });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(
      problem(res, 'not_found', 404, 'Not found', 'Batch no-such-batch was not found'),
    );
  });

  it('GET counts_by_destination counts only the caller’s own items, admins included', async ({ h, w }) => {
    const counts = {
      alice: {
        'alice-gallery': { pending: 1, in_progress: 1, completed: 0, failed: 1, canceled: 0, total: 3 },
        'bob-gallery': ZERO,
      },
      bob: { 'alice-gallery': ZERO, 'bob-gallery': { ...ZERO, completed: 1, total: 1 } },
      admin: { 'alice-gallery': ZERO, 'bob-gallery': ZERO },
    }[who];
    for (const [destination, c] of Object.entries(counts)) {
      const res = await h.get(`${Q}/counts_by_destination?destination=${destination}`, { token: token(w) });
      expect(res.status, destination).toBe(200);
      expect(await res.json(), destination).toEqual({ queue_id: 'default', destination, ...c });
    }
  });
});

describe('reads of an unknown queue are 404', () => {
  it.for([
    ['GET', 'list'],
    ['GET', 'list_all'],
    ['GET', 'i/1'],
    ['POST', 'items_by_ids'],
    ['GET', 'current'],
    ['GET', 'next'],
    ['GET', 'status'],
    ['GET', 'b/some-batch/status'],
    ['GET', 'counts_by_destination?destination=x'],
  ] as const)('%s %s', async ([method, path], { h, alice, w }) => {
    const res = await h.request(method, `/api/v1/queue/other/${path}`, {
      token: alice.token,
      ...(method === 'POST' ? { json: { item_ids: [w.ids.a1] } } : {}),
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(
      problem(res, 'not_found', 404, 'Not found', 'Queue other was not found'),
    );
  });
});

// GET i/{item_id} and b/{batch_id}/status without a token: the shared suite below.
describe('reads without a token are 401', () => {
  it.for([
    ['GET', 'list'],
    ['GET', 'list_all'],
    ['POST', 'items_by_ids'],
    ['GET', 'current'],
    ['GET', 'next'],
    ['GET', 'status'],
    ['GET', 'counts_by_destination?destination=x'],
  ] as const)('%s %s', async ([method, path], { h }) => {
    const res = await h.request(method, `${Q}/${path}`, method === 'POST' ? { json: { item_ids: [1] } } : {});
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toEqual(
      problem(res, 'unauthorized', 401, 'Unauthorized', 'A bearer token is required.'),
    );
  });
});

// Every user reads every item (redacted, above), so the item route has no other-user test of its own.
runCommonAuthTests(test, 'GET /api/v1/queue/{queue_id}/i/{item_id}', {
  otherUser: 'none',
  prepareRequest: async (h, owner) => {
    const id = must((await enqueue(h, owner.token)).item_ids[0], 'item');
    return { method: 'GET', path: `${Q}/i/${id}` };
  },
});

runCommonAuthTests(test, 'GET /api/v1/queue/{queue_id}/b/{batch_id}/status', {
  prepareRequest: async (h, owner) => {
    const { batch } = await enqueue(h, owner.token);
    return {
      method: 'GET',
      path: `${Q}/b/${batch.batch_id}/status`,
      expectNotFound: (res) =>
        expectProblem(res, 'not_found', 404, 'Not found', `Batch ${batch.batch_id} was not found`),
      adminStatus: 200,
    };
  },
});
