import { describe, expect } from 'vitest';
import { test as fileTest } from '../helpers/fixtures.ts';
import { textToImageGraph } from '../helpers/graphs.ts';
import { problem } from '../helpers/harness.ts';
import { BOARDS, IMAGES, uploaded } from '../helpers/images.ts';
import { enqueue, Q } from '../helpers/queue.ts';

// API.md section 1: text PostgreSQL cannot store (U+0000, a lone surrogate) is 422 validation_failed, from
// the validation layer, on every route and both databases; never a 500, never a write.
const NUL = 'a\u0000b';
const LONE = '\ud800x';
const MESSAGE = 'must not contain U+0000 or an unpaired surrogate';

/** The file's test API with Alice's board, image and queue item (made once, in that order, after the admin). */
const test = fileTest
  .extend('boardId', { scope: 'file' }, async ({ h, admin: _admin, alice }) => {
    const board = await h.post(BOARDS, { token: alice.token, json: { board_name: 'mine' } });
    return ((await board.json()) as { board_id: string }).board_id;
  })
  .extend(
    'imageName',
    { scope: 'file' },
    async ({ h, alice, boardId: _boardId }) => (await uploaded(h, alice.token)).image_name,
  )
  .extend(
    'itemId',
    { scope: 'file' },
    async ({ h, alice, imageName: _imageName }) => (await enqueue(h, alice.token)).item_ids[0] as number,
  );
const it = test;

async function expectUnstorable(res: Response, path: string) {
  expect(res.status).toBe(422);
  expect(await res.json()).toEqual(
    problem(res, 'validation_failed', 422, 'Validation failed', 'The request does not match the schema.', [
      { path, message: MESSAGE },
    ]),
  );
}

describe('in a JSON body', () => {
  it.for([NUL, LONE])('POST /auth/login with email %j', async (bad, { h }) => {
    await expectUnstorable(
      await h.post('/api/v1/auth/login', { json: { email: bad, password: 'x'.repeat(12) } }),
      'email',
    );
  });

  it.for([NUL, LONE])('PATCH /auth/me with display_name %j', async (bad, { h, alice }) => {
    await expectUnstorable(
      await h.patch('/api/v1/auth/me', { token: alice.token, json: { display_name: bad } }),
      'display_name',
    );
  });

  it.for([NUL, LONE])(
    'POST and PATCH /users with display_name %j, and no user is written',
    async (bad, { h, admin, alice }) => {
      const before = await (await h.get('/api/v1/users', { token: admin.token })).json();
      const created = await h.post('/api/v1/users', {
        token: admin.token,
        json: { email: 'nul@example.com', password: 'correct horse battery', display_name: bad },
      });
      await expectUnstorable(created, 'display_name');
      expect(await (await h.get('/api/v1/users', { token: admin.token })).json()).toEqual(before);
      const patched = await h.patch(`/api/v1/users/${alice.user.user_id}`, {
        token: admin.token,
        json: { display_name: bad },
      });
      await expectUnstorable(patched, 'display_name');
    },
  );

  it.for([NUL, LONE])('POST and PATCH /boards with board_name %j', async (bad, { h, alice, boardId }) => {
    await expectUnstorable(
      await h.post(BOARDS, { token: alice.token, json: { board_name: bad } }),
      'board_name',
    );
    await expectUnstorable(
      await h.patch(`${BOARDS}/${boardId}`, { token: alice.token, json: { board_name: bad } }),
      'board_name',
    );
  });

  it('PUT …/i/{id}/owner with user_id U+0000', async ({ h, admin, itemId }) => {
    await expectUnstorable(
      await h.put(`${Q}/i/${itemId}/owner`, { token: admin.token, json: { user_id: NUL } }),
      'user_id',
    );
  });

  it.for([NUL, LONE])("a graph's prompt %j, and nothing is enqueued", async (bad, { h, alice }) => {
    const before = await (await h.get(`${Q}/status`, { token: alice.token })).json();
    const graph = textToImageGraph({ prompt: bad });
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: alice.token,
      json: { batch: { graph, runs: 1 } },
    });
    await expectUnstorable(res, 'batch.graph.nodes.positive.prompt');
    expect(await (await h.get(`${Q}/status`, { token: alice.token })).json()).toEqual(before);
  });

  it('an object key (a node id) with U+0000', async ({ h, alice }) => {
    const graph = textToImageGraph();
    const nodes = graph.nodes as Record<string, unknown>;
    nodes[NUL] = { id: NUL, type: 'integer', value: 1 };
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: alice.token,
      json: { batch: { graph, runs: 1 } },
    });
    await expectUnstorable(res, `batch.graph.nodes.${NUL}`);
  });
});

describe('in a path parameter', () => {
  it.for([
    ['/api/v1/users/%00', 'param.user_id', 'admin'],
    [`${BOARDS}/%00/image_names`, 'param.board_id', 'alice'],
    [`${Q}/b/%00/status`, 'param.batch_id', 'alice'],
  ] as const)('GET %s', async ([path, field, who], { h, admin, alice }) => {
    await expectUnstorable(await h.get(path, { token: who === 'admin' ? admin.token : alice.token }), field);
  });

  it('DELETE /boards/%00', async ({ h, alice }) => {
    await expectUnstorable(await h.delete(`${BOARDS}/%00`, { token: alice.token }), 'param.board_id');
  });
});

describe('in a query parameter', () => {
  it.for([
    [`${Q}/list_all?destination=%00`, 'query.destination', 'alice'],
    [`${Q}/counts_by_destination?destination=%00`, 'query.destination', 'alice'],
    [`${IMAGES}?board_id=%00`, 'query.board_id', 'alice'],
    [`${IMAGES}?user_id=%00`, 'query.user_id', 'admin'],
    [`${BOARDS}?user_id=%00`, 'query.user_id', 'admin'],
    ['/api/v1/audit?user_id=%00', 'query.user_id', 'admin'],
  ] as const)('GET %s', async ([path, field, who], { h, admin, alice }) => {
    await expectUnstorable(await h.get(path, { token: who === 'admin' ? admin.token : alice.token }), field);
  });
});

describe('storable text still passes', () => {
  it('a prompt with emoji (a surrogate pair) and other control characters is enqueued', async ({
    h,
    alice,
  }) => {
    const graph = textToImageGraph({ prompt: 'a 🐱 on\ta mat\u0001' });
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: alice.token,
      json: { batch: { graph, runs: 1 } },
    });
    expect(res.status).toBe(201);
  });

  it('an image of one’s own is still found by name', async ({ h, alice, imageName }) => {
    expect((await h.get(`${IMAGES}/i/${imageName}`, { token: alice.token })).status).toBe(200);
  });
});
