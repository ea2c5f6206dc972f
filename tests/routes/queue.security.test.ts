import { asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditLog, queueUserTurns, sessionQueue } from '../../src/db/schema/index.ts';
import { claimNext } from '../../src/worker/claim.ts';
import { must } from '../helpers/common.ts';
import { textToImageGraph } from '../helpers/graphs.ts';
import { createHarness, type Harness, problem, type TestUser } from '../helpers/harness.ts';
import { enqueue, Q } from '../helpers/queue.ts';

let h: Harness;
let alice: TestUser;
let bob: TestUser;
let admin: TestUser;
beforeAll(async () => {
  h = await createHarness();
  alice = await h.createUser({ displayName: 'Alice' });
  bob = await h.createUser({ displayName: 'Bob' });
  admin = await h.createUser({ isAdmin: true, displayName: 'Admin' });
});
afterAll(() => h.close());

beforeEach(() => {
  h.events.clear();
  h.workers.canceled.splice(0);
});

/** Every queue row, the round-robin turns and the audit log size: what "nothing changed" compares. */
async function snapshot() {
  const rows = await h.db.select().from(sessionQueue).orderBy(asc(sessionQueue.itemId));
  const turns = await h.db
    .select()
    .from(queueUserTurns)
    .orderBy(asc(queueUserTurns.queueId), asc(queueUserTurns.userId));
  const [audit] = await h.db.select({ n: sql<number>`count(*)::int` }).from(auditLog);
  return { rows, turns, audit: audit?.n, wakes: h.workers.wakes };
}

/** The database is as it was, no event went out and the processor was told nothing. */
async function expectNothingChanged(before: Awaited<ReturnType<typeof snapshot>>) {
  expect(await snapshot()).toEqual(before);
  expect(h.events.events).toEqual([]);
  expect(h.workers.canceled).toEqual([]);
}

async function setStatus(itemId: number, status: 'completed' | 'failed' | 'canceled' | 'in_progress') {
  const now = h.clock.now();
  await h.db
    .update(sessionQueue)
    .set({
      status,
      startedAt: status === 'canceled' ? null : now,
      completedAt: status === 'in_progress' ? null : now,
      updatedAt: now,
      ...(status === 'failed' ? { errorType: 'RuntimeError', errorMessage: 'boom' } : {}),
    })
    .where(eq(sessionQueue.itemId, itemId));
}

const UNKNOWN = 999999;
const enqueueBody = { batch: { graph: textToImageGraph() } };

/** Alice: aP pending, aR in progress, aF failed (batch aBatch). Bob: bP pending, bF failed (batch bBatch). */
const f = { aP: 0, aR: 0, aF: 0, bP: 0, bF: 0, aBatch: '', bBatch: '' };

describe('refused requests change nothing', () => {
  beforeAll(async () => {
    const a = await enqueue(h, alice.token, { runs: 3 });
    const claimed = await claimNext(h.db, {
      queueId: 'default',
      fairness: 'round_robin',
      workerId: 'test/0:cpu',
      device: 'cpu',
      now: h.clock.now(),
    });
    [f.aR, f.aP, f.aF] = a.item_ids as [number, number, number];
    expect(claimed?.itemId).toBe(f.aR);
    await setStatus(f.aF, 'failed');
    const b = await enqueue(h, bob.token, { runs: 2 });
    [f.bP, f.bF] = b.item_ids as [number, number];
    await setStatus(f.bF, 'failed');
    f.aBatch = a.batch.batch_id;
    f.bBatch = b.batch.batch_id;
    h.clock.advance(1000);
  });

  interface Case {
    name: string;
    send: () => Promise<Response>;
    status: number;
    code: string;
    title: string;
    detail: () => string;
  }
  const tok = (u: () => TestUser | undefined) => () => u()?.token;
  const req =
    (method: string, path: () => string, token: () => string | undefined, json?: () => unknown) => () =>
      h.request(method, path(), { token: token(), ...(json ? { json: json() } : {}) });

  const noToken = () => undefined;
  const asAlice = tok(() => alice);
  const asBob = tok(() => bob);
  const asAdmin = tok(() => admin);

  /** Every mutating route, parameterised by queue, item and token. */
  const routes = (queue: string, item: () => number, token: () => string | undefined) => ({
    enqueue: req(
      'POST',
      () => `/api/v1/queue/${queue}/enqueue_batch`,
      token,
      () => enqueueBody,
    ),
    cancel: req('PUT', () => `/api/v1/queue/${queue}/i/${item()}/cancel`, token),
    cancelByBatch: req(
      'PUT',
      () => `/api/v1/queue/${queue}/cancel_by_batch_ids`,
      token,
      () => ({ batch_ids: [f.aBatch] }),
    ),
    cancelAll: req('PUT', () => `/api/v1/queue/${queue}/cancel_all_except_current`, token),
    retry: req(
      'PUT',
      () => `/api/v1/queue/${queue}/retry_items_by_id`,
      token,
      () => [item()],
    ),
    delete: req('DELETE', () => `/api/v1/queue/${queue}/i/${item()}`, token),
    prune: req('PUT', () => `/api/v1/queue/${queue}/prune`, token),
    clear: req('PUT', () => `/api/v1/queue/${queue}/clear`, token),
    owner: req(
      'PUT',
      () => `/api/v1/queue/${queue}/i/${item()}/owner`,
      token,
      () => ({ user_id: bob.user.user_id }),
    ),
    pause: req('PUT', () => `/api/v1/queue/${queue}/processor/pause`, token),
    resume: req('PUT', () => `/api/v1/queue/${queue}/processor/resume`, token),
  });

  const unauthorized = (name: string, send: () => Promise<Response>): Case => ({
    name: `${name} without a token → 401`,
    send,
    status: 401,
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: () => 'A bearer token is required.',
  });
  const forbidden = (name: string, send: () => Promise<Response>, detail: () => string): Case => ({
    name: `${name} → 403`,
    send,
    status: 403,
    code: 'forbidden',
    title: 'Forbidden',
    detail,
  });
  const notFound = (name: string, send: () => Promise<Response>, detail: () => string): Case => ({
    name: `${name} → 404`,
    send,
    status: 404,
    code: 'not_found',
    title: 'Not found',
    detail,
  });
  const belongs = (id: () => number) => () => `Queue item ${id()} belongs to another user.`;
  const needsAdmin = () => 'This action needs an admin.';
  const noItem = () => `Queue item ${UNKNOWN} was not found`;
  const noQueue = () => 'Queue other was not found';

  const anon = routes('default', () => f.aP, noToken);
  const bobOnAP = routes('default', () => f.aP, asBob);
  const bobOnAR = routes('default', () => f.aR, asBob);
  const bobOnAF = routes('default', () => f.aF, asBob);
  const bobOnBP = routes('default', () => f.bP, asBob);
  const aliceOnUnknown = routes('default', () => UNKNOWN, asAlice);
  const adminOnUnknown = routes('default', () => UNKNOWN, asAdmin);
  const aliceOther = routes('other', () => f.aP, asAlice);
  const aliceOtherRunning = routes('other', () => f.aR, asAlice);
  const aliceOtherFailed = routes('other', () => f.aF, asAlice);
  const adminOther = routes('other', () => f.aP, asAdmin);

  const cases: Case[] = [
    ...Object.entries(anon).map(([name, send]) => unauthorized(name, send)),

    forbidden(
      'cancel of another user’s pending item',
      bobOnAP.cancel,
      belongs(() => f.aP),
    ),
    forbidden(
      'cancel of another user’s running item',
      bobOnAR.cancel,
      belongs(() => f.aR),
    ),
    forbidden(
      'delete of another user’s pending item',
      bobOnAP.delete,
      belongs(() => f.aP),
    ),
    forbidden(
      'delete of another user’s running item',
      bobOnAR.delete,
      belongs(() => f.aR),
    ),
    forbidden(
      'retry of another user’s failed item',
      bobOnAF.retry,
      belongs(() => f.aF),
    ),
    forbidden(
      'retry of an own and another user’s failed item (nothing is retried)',
      req(
        'PUT',
        () => `${Q}/retry_items_by_id`,
        asBob,
        () => [f.bF, f.aF],
      ),
      belongs(() => f.aF),
    ),
    forbidden('owner transfer of another user’s item by a non-admin', bobOnAP.owner, needsAdmin),
    forbidden('owner transfer of an own item by a non-admin', bobOnBP.owner, needsAdmin),
    forbidden('owner transfer of an unknown item by a non-admin', aliceOnUnknown.owner, needsAdmin),
    forbidden('clear by a non-admin', bobOnAP.clear, needsAdmin),
    forbidden('clear by a non-admin who has items', routes('default', () => f.aP, asAlice).clear, needsAdmin),
    forbidden('processor pause by a non-admin', bobOnAP.pause, needsAdmin),
    forbidden('processor resume by a non-admin', bobOnAP.resume, needsAdmin),

    notFound('cancel of an unknown item', aliceOnUnknown.cancel, noItem),
    notFound('delete of an unknown item', aliceOnUnknown.delete, noItem),
    notFound('cancel of an unknown item by an admin', adminOnUnknown.cancel, noItem),
    notFound('delete of an unknown item by an admin', adminOnUnknown.delete, noItem),
    notFound('owner transfer of an unknown item', adminOnUnknown.owner, noItem),

    notFound('enqueue into an unknown queue', aliceOther.enqueue, noQueue),
    notFound('cancel in an unknown queue', aliceOther.cancel, noQueue),
    notFound('cancel of a running item in an unknown queue', aliceOtherRunning.cancel, noQueue),
    notFound('cancel_by_batch_ids in an unknown queue', aliceOther.cancelByBatch, noQueue),
    notFound('cancel_all_except_current in an unknown queue', aliceOther.cancelAll, noQueue),
    notFound('retry in an unknown queue', aliceOtherFailed.retry, noQueue),
    notFound('delete in an unknown queue', aliceOther.delete, noQueue),
    notFound('prune in an unknown queue', aliceOther.prune, noQueue),
    notFound('clear of an unknown queue', adminOther.clear, noQueue),
    notFound('owner transfer in an unknown queue', adminOther.owner, noQueue),
    notFound('processor pause of an unknown queue', adminOther.pause, noQueue),
    notFound('processor resume of an unknown queue', adminOther.resume, noQueue),
  ];

  it.each(cases)('$name', async (c) => {
    const before = await snapshot();
    const res = await c.send();
    expect(res.status).toBe(c.status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toEqual(problem(res, c.code, c.status, c.title, c.detail()));
    if (c.status === 401) {
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(res.headers.get('x-refreshed-token')).toBeNull();
    await expectNothingChanged(before);
  });

  it.each([
    ['an unknown user', 'nobody'],
    ['the system user', 'system'],
  ])('owner transfer to %s → 422 and nothing changes', async (_name, userId) => {
    const before = await snapshot();
    const res = await h.put(`${Q}/i/${f.aP}/owner`, { token: admin.token, json: { user_id: userId } });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual(
      problem(res, 'validation_failed', 422, 'Validation failed', 'The request does not match the schema.', [
        { path: 'user_id', message: `No user ${userId}.` },
      ]),
    );
    await expectNothingChanged(before);
  });

  it('cancel_by_batch_ids with another user’s batch id cancels nothing', async () => {
    const before = await snapshot();
    const res = await h.put(`${Q}/cancel_by_batch_ids`, {
      token: bob.token,
      json: { batch_ids: [f.aBatch] },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ canceled: 0 });
    await expectNothingChanged(before);
  });

  it('retry of unknown ids retries nothing', async () => {
    const before = await snapshot();
    const res = await h.put(`${Q}/retry_items_by_id`, { token: alice.token, json: [UNKNOWN] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ queue_id: 'default', retried_item_ids: [], item_ids: [] });
    await expectNothingChanged(before);
  });

  it('the refused requests left the fixture as it was', async () => {
    const rows = await h.db.select().from(sessionQueue).orderBy(asc(sessionQueue.itemId));
    expect(rows.map((r) => [r.itemId, r.status, r.userId])).toEqual([
      [f.aR, 'in_progress', alice.user.user_id],
      [f.aP, 'pending', alice.user.user_id],
      [f.aF, 'failed', alice.user.user_id],
      [f.bP, 'pending', bob.user.user_id],
      [f.bF, 'failed', bob.user.user_id],
    ]);
  });
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
  beforeAll(async () => {
    carol = await h.createUser({ displayName: 'Carol' });
    dave = await h.createUser({ displayName: 'Dave' });
  });

  it('cancel_by_batch_ids with an own and another user’s batch cancels only the own items', async () => {
    const c = await enqueue(h, carol.token, { runs: 2 });
    const d = await enqueue(h, dave.token, { runs: 2 });
    h.events.clear();
    h.clock.advance(1000);
    const before = await snapshot();
    const res = await h.put(`${Q}/cancel_by_batch_ids`, {
      token: carol.token,
      json: { batch_ids: [d.batch.batch_id, c.batch.batch_id] },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ canceled: 2 });
    const after = await snapshot();
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

  it('cancel_all_except_current by a user cancels only their own pending items', async () => {
    const c = await enqueue(h, carol.token, { runs: 3 });
    await enqueue(h, dave.token, { runs: 2 });
    const [running, ...pending] = c.item_ids as [number, ...number[]];
    await setStatus(running, 'in_progress');
    h.events.clear();
    h.clock.advance(1000);
    const before = await snapshot();
    const res = await h.put(`${Q}/cancel_all_except_current`, { token: carol.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ canceled: 2 });
    const after = await snapshot();
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

  it('cancel_all_except_current by an admin cancels every pending item, running ones stay', async () => {
    await enqueue(h, carol.token, { runs: 1 });
    await enqueue(h, dave.token, { runs: 2 });
    h.events.clear();
    h.workers.canceled.splice(0);
    h.clock.advance(1000);
    const before = await snapshot();
    const pending = before.rows.filter((r) => r.status === 'pending');
    expect(pending.map((r) => r.userId)).toEqual(
      expect.arrayContaining([alice.user.user_id, bob.user.user_id, carol.user.user_id, dave.user.user_id]),
    );
    const running = before.rows.filter((r) => r.status === 'in_progress');
    expect(running.length).toBeGreaterThan(0);
    const res = await h.put(`${Q}/cancel_all_except_current`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ canceled: pending.length });
    const after = await snapshot();
    expect(after.rows).toEqual(
      afterCancel(before.rows, new Set(pending.map((r) => r.itemId)), h.clock.now()),
    );
    expect(h.events.events).toEqual(canceledEvents(pending));
    expect(h.workers.canceled).toEqual([]);
  });

  it('prune by a user deletes only their own finished items', async () => {
    const c = await enqueue(h, carol.token, { runs: 4 });
    const [cPending, cDone, cFailed, cCanceled] = c.item_ids as [number, number, number, number];
    await setStatus(cDone, 'completed');
    await setStatus(cFailed, 'failed');
    await setStatus(cCanceled, 'canceled');
    const d = await enqueue(h, dave.token, { runs: 1 });
    await setStatus(must(d.item_ids[0], 'dave item'), 'completed');
    h.events.clear();
    const before = await snapshot();
    const carolFinished = before.rows.filter(
      (r) => r.userId === carol.user.user_id && r.status !== 'pending' && r.status !== 'in_progress',
    );
    expect(carolFinished.map((r) => r.itemId)).toEqual(expect.arrayContaining([cDone, cFailed, cCanceled]));
    const res = await h.put(`${Q}/prune`, { token: carol.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: carolFinished.length });
    const after = await snapshot();
    const gone = new Set(carolFinished.map((r) => r.itemId));
    expect(after.rows).toEqual(before.rows.filter((r) => !gone.has(r.itemId)));
    expect(after.rows.some((r) => r.itemId === cPending)).toBe(true);
    expect(h.events.events).toEqual([]);
    expect(h.workers.canceled).toEqual([]);
  });

  it('prune by an admin deletes every finished item', async () => {
    const before = await snapshot();
    const finished = before.rows.filter((r) => ['completed', 'failed', 'canceled'].includes(r.status));
    expect(new Set(finished.map((r) => r.userId)).size).toBeGreaterThan(1);
    const res = await h.put(`${Q}/prune`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: finished.length });
    const after = await snapshot();
    expect(after.rows).toEqual(
      before.rows.filter((r) => r.status === 'pending' || r.status === 'in_progress'),
    );
    expect(h.events.events).toEqual([]);
  });

  it('clear is admin-only, deletes everything, stops the running item and tells everyone', async () => {
    await enqueue(h, dave.token, { runs: 1 });
    h.events.clear();
    h.workers.canceled.splice(0);
    const before = await snapshot();
    const running = before.rows.filter((r) => r.status === 'in_progress').map((r) => r.itemId);
    expect(running).toEqual([f.aR]);
    const res = await h.put(`${Q}/clear`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: before.rows.length });
    expect((await snapshot()).rows).toEqual([]);
    expect(h.events.events).toEqual([
      { name: 'queue_cleared', queueId: 'default', ownerId: null, data: { queue_id: 'default' } },
    ]);
    expect(h.workers.canceled).toEqual(running);
  });
});
