import { describe, expect } from 'vitest';
import { must } from '../helpers/common.ts';
import { expectProblem, problem } from '../helpers/harness.ts';
import { enqueue, Q } from '../helpers/queue.ts';
import { it, test, viewer, type Who, type World, ZERO } from '../helpers/queue-world.ts';
import { runCommonAuthTests } from '../helpers/security.ts';

describe.each<Who>(['alice', 'bob', 'admin'])('read routes as %s', (who) => {
  const token = (w: World) => viewer(w, who).token;

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
