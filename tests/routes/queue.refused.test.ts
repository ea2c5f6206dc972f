import { asc } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { sessionQueue } from '../../src/db/schema/index.ts';
import type { Fixtures } from '../helpers/fixtures.ts';
import { problem, type TestUser } from '../helpers/harness.ts';
import { Q } from '../helpers/queue.ts';
import {
  enqueueBody,
  expectNothingChanged,
  type Items,
  it,
  snapshot,
  test,
  UNKNOWN,
} from '../helpers/queue-items.ts';

test.beforeEach(({ h }) => {
  h.events.clear();
  h.workers.canceled.splice(0);
});

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
