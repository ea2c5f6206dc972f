import { asc, eq, sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { auditLog, queueUserTurns, sessionQueue } from '../../src/db/schema/index.ts';
import { claimNext } from '../../src/worker/claim.ts';
import { must } from '../helpers/common.ts';
import { type Fixtures, harnessTest, NAMED_USERS } from '../helpers/fixtures.ts';
import { textToImageGraph } from '../helpers/graphs.ts';
import { type Harness, problem, type TestUser } from '../helpers/harness.ts';
import { enqueue, Q } from '../helpers/queue.ts';

interface Items {
  aP: number;
  aR: number;
  aF: number;
  bP: number;
  bF: number;
  aBatch: string;
  bBatch: string;
}

/**
 * The file's test API with `f`, the file's items: Alice's aP pending, aR in progress, aF failed (batch
 * aBatch); Bob's bP pending, bF failed (batch bBatch).
 */
const test = harnessTest({}, NAMED_USERS).extend(
  'f',
  { scope: 'file' },
  async ({ h, alice, bob }): Promise<Items> => {
    const a = await enqueue(h, alice.token, { runs: 3 });
    const claimed = await claimNext(h.db, {
      queueId: 'default',
      fairness: 'round_robin',
      workerId: 'test/0:cpu',
      device: 'cpu',
      now: h.clock.now(),
    });
    const [aR, aP, aF] = a.item_ids as [number, number, number];
    expect(claimed?.itemId).toBe(aR);
    await setStatus(h, aF, 'failed');
    const b = await enqueue(h, bob.token, { runs: 2 });
    const [bP, bF] = b.item_ids as [number, number];
    await setStatus(h, bF, 'failed');
    h.clock.advance(1000);
    return { aP, aR, aF, bP, bF, aBatch: a.batch.batch_id, bBatch: b.batch.batch_id };
  },
);
const it = test;

test.beforeEach(({ h }) => {
  h.events.clear();
  h.workers.canceled.splice(0);
});

/** Every queue row, the round-robin turns and the audit log size: what "nothing changed" compares. */
async function snapshot(h: Harness) {
  const rows = await h.db.select().from(sessionQueue).orderBy(asc(sessionQueue.itemId));
  const turns = await h.db
    .select()
    .from(queueUserTurns)
    .orderBy(asc(queueUserTurns.queueId), asc(queueUserTurns.userId));
  const [audit] = await h.db.select({ n: sql<number>`count(*)::int` }).from(auditLog);
  return { rows, turns, audit: audit?.n, wakes: h.workers.wakes };
}

/** The database is as it was, no event went out and the processor was told nothing. */
async function expectNothingChanged(h: Harness, before: Awaited<ReturnType<typeof snapshot>>) {
  expect(await snapshot(h)).toEqual(before);
  expect(h.events.events).toEqual([]);
  expect(h.workers.canceled).toEqual([]);
}

async function setStatus(
  h: Harness,
  itemId: number,
  status: 'completed' | 'failed' | 'canceled' | 'in_progress',
) {
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

describe('refused requests change nothing', () => {
  /** The file's fixtures, for the table's requests below (built before any test runs); set by beforeAll. */
  const fx = {} as Pick<Fixtures, 'h' | 'alice' | 'bob' | 'admin'> & { f: Items };
  test.beforeAll(async ({ h, alice, bob, admin, f }) => {
    Object.assign(fx, { h, alice, bob, admin, f });
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
      fx.h.request(method, path(), { token: token(), ...(json ? { json: json() } : {}) });

  const noToken = () => undefined;
  const asAlice = tok(() => fx.alice);
  const asBob = tok(() => fx.bob);
  const asAdmin = tok(() => fx.admin);

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
      () => ({ batch_ids: [fx.f.aBatch] }),
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
      () => ({ user_id: fx.bob.user.user_id }),
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

  const anon = routes('default', () => fx.f.aP, noToken);
  const bobOnAP = routes('default', () => fx.f.aP, asBob);
  const bobOnAR = routes('default', () => fx.f.aR, asBob);
  const bobOnAF = routes('default', () => fx.f.aF, asBob);
  const bobOnBP = routes('default', () => fx.f.bP, asBob);
  const aliceOnUnknown = routes('default', () => UNKNOWN, asAlice);
  const adminOnUnknown = routes('default', () => UNKNOWN, asAdmin);
  const aliceOther = routes('other', () => fx.f.aP, asAlice);
  const aliceOtherRunning = routes('other', () => fx.f.aR, asAlice);
  const aliceOtherFailed = routes('other', () => fx.f.aF, asAlice);
  const adminOther = routes('other', () => fx.f.aP, asAdmin);

  const cases: Case[] = [
    ...Object.entries(anon).map(([name, send]) => unauthorized(name, send)),

    forbidden(
      'cancel of another user’s pending item',
      bobOnAP.cancel,
      belongs(() => fx.f.aP),
    ),
    forbidden(
      'cancel of another user’s running item',
      bobOnAR.cancel,
      belongs(() => fx.f.aR),
    ),
    forbidden(
      'delete of another user’s pending item',
      bobOnAP.delete,
      belongs(() => fx.f.aP),
    ),
    forbidden(
      'delete of another user’s running item',
      bobOnAR.delete,
      belongs(() => fx.f.aR),
    ),
    forbidden(
      'retry of another user’s failed item',
      bobOnAF.retry,
      belongs(() => fx.f.aF),
    ),
    forbidden(
      'retry of an own and another user’s failed item (nothing is retried)',
      req(
        'PUT',
        () => `${Q}/retry_items_by_id`,
        asBob,
        () => [fx.f.bF, fx.f.aF],
      ),
      belongs(() => fx.f.aF),
    ),
    forbidden('owner transfer of another user’s item by a non-admin', bobOnAP.owner, needsAdmin),
    forbidden('owner transfer of an own item by a non-admin', bobOnBP.owner, needsAdmin),
    forbidden('owner transfer of an unknown item by a non-admin', aliceOnUnknown.owner, needsAdmin),
    forbidden('clear by a non-admin', bobOnAP.clear, needsAdmin),
    forbidden(
      'clear by a non-admin who has items',
      routes('default', () => fx.f.aP, asAlice).clear,
      needsAdmin,
    ),
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

  it.for(cases)('$name', async (c, { h }) => {
    const before = await snapshot(h);
    const res = await c.send();
    expect(res.status).toBe(c.status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toEqual(problem(res, c.code, c.status, c.title, c.detail()));
    if (c.status === 401) {
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(res.headers.get('x-refreshed-token')).toBeNull();
    await expectNothingChanged(h, before);
  });

  it.for([
    ['an unknown user', 'nobody'],
    ['the system user', 'system'],
  ] as const)('owner transfer to %s → 422 and nothing changes', async ([_name, userId], { f, h, admin }) => {
    const before = await snapshot(h);
    const res = await h.put(`${Q}/i/${f.aP}/owner`, { token: admin.token, json: { user_id: userId } });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual(
      problem(res, 'validation_failed', 422, 'Validation failed', 'The request does not match the schema.', [
        { path: 'user_id', message: `No user ${userId}.` },
      ]),
    );
    await expectNothingChanged(h, before);
  });

  it('cancel_by_batch_ids with another user’s batch id cancels nothing', async ({ f, h, bob }) => {
    const before = await snapshot(h);
    const res = await h.put(`${Q}/cancel_by_batch_ids`, {
      token: bob.token,
      json: { batch_ids: [f.aBatch] },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ canceled: 0 });
    await expectNothingChanged(h, before);
  });

  it('retry of unknown ids retries nothing', async ({ h, alice }) => {
    const before = await snapshot(h);
    const res = await h.put(`${Q}/retry_items_by_id`, { token: alice.token, json: [UNKNOWN] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ queue_id: 'default', retried_item_ids: [], item_ids: [] });
    await expectNothingChanged(h, before);
  });

  it('the refused requests left the fixture as it was', async ({ f, h, alice, bob }) => {
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
  test.beforeAll(async ({ h }) => {
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
