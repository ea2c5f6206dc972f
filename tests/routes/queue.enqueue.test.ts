import { describe, expect } from 'vitest';
import { it, test } from '../helpers/fixtures.ts';
import { imageToImageGraph, textToImageGraph } from '../helpers/graphs.ts';
import { createHarness, expectProblem, type Harness, problem } from '../helpers/harness.ts';
import { generated } from '../helpers/images.ts';
import { enqueue, Q } from '../helpers/queue.ts';
import { runCommonAuthTests } from '../helpers/security.ts';

const countMine = async (h: Harness, token: string) =>
  (await (await h.get(`${Q}/status`, { token })).json()).mine.total;

describe('enqueue validation', () => {
  it('a graph problem is 422 with its path under batch.graph, and nothing is enqueued', async ({ h }) => {
    const u = await h.createUser();
    const graph = textToImageGraph();
    (graph.nodes.denoise as Record<string, unknown>).steps = 0;
    graph.nodes.model = { id: 'model', type: 'main_model_loader', model: { key: 'no-such-model' } };
    const res = await h.post(`${Q}/enqueue_batch`, { token: u.token, json: { batch: { graph } } });
    expect(res.status).toBe(422);
    const body = await res.json();
    expect(body).toEqual(
      problem(
        res,
        'validation_failed',
        422,
        'Validation failed',
        'The request does not match the schema.',
        body.errors,
      ),
    );
    expect(body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'batch.graph.nodes.denoise.steps',
      'batch.graph.nodes.model.model',
    ]);
    expect(await countMine(h, u.token)).toBe(0);
  });

  it('unequal item lists in a zip group are 422 at batch.data.<group>', async ({ h }) => {
    const u = await h.createUser();
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: u.token,
      json: {
        batch: {
          graph: textToImageGraph(),
          data: [
            [
              { node_path: 'noise', field_name: 'seed', items: [1, 2, 3] },
              { node_path: 'positive', field_name: 'prompt', items: ['a', 'b'] },
            ],
          ],
        },
      },
    });
    expect(res.status).toBe(422);
    expect((await res.json()).errors.map((e: { path: string }) => e.path)).toEqual(['batch.data.0']);
  });

  it.for([0, 10_001, 1.5, '2'])('runs = %j is 422', async (runs, { h }) => {
    const u = await h.createUser();
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: u.token,
      json: { batch: { graph: textToImageGraph(), runs } },
    });
    expect(res.status).toBe(422);
    expect((await res.json()).errors[0].path).toBe('batch.runs');
  });

  it('expands data in the contract’s order: runs outermost, then the product of groups, zipped inside', async ({
    h,
  }) => {
    const u = await h.createUser();
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: u.token,
      json: {
        batch: {
          graph: textToImageGraph(),
          runs: 2,
          data: [
            [
              { node_path: 'noise', field_name: 'seed', items: [1, 2] },
              { node_path: 'positive', field_name: 'prompt', items: ['cat', 'dog'] },
            ],
            [{ node_path: 'denoise', field_name: 'steps', items: [3, 4, 5] }],
          ],
        },
      },
    });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.enqueued).toBe(12);
    const items = await (
      await h.post(`${Q}/items_by_ids`, { token: u.token, json: { item_ids: body.item_ids } })
    ).json();
    const summary = items.map((i: { field_values: { value: unknown }[] }) =>
      i.field_values.map((f) => f.value).join('/'),
    );
    const once = ['1/cat/3', '1/cat/4', '1/cat/5', '2/dog/3', '2/dog/4', '2/dog/5'];
    expect(summary).toEqual([...once, ...once]);
    expect(items[0].field_values).toEqual([
      { node_path: 'noise', field_name: 'seed', value: 1 },
      { node_path: 'positive', field_name: 'prompt', value: 'cat' },
      { node_path: 'denoise', field_name: 'steps', value: 3 },
    ]);
    expect(items[0].session.graph.nodes.noise.seed).toBe(1);
    expect(items[5].session.graph.nodes.denoise.steps).toBe(5);
  });

  it('prepend gives priority 1', async ({ h }) => {
    const u = await h.createUser();
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: u.token,
      json: { batch: { graph: textToImageGraph() }, prepend: true },
    });
    expect((await res.json()).priority).toBe(1);
  });
});

describe('image-to-image (i2l)', () => {
  const unknownImage = (res: Response, path: string, name: string) =>
    expectProblem(
      res,
      'validation_failed',
      422,
      'Validation failed',
      'The request does not match the schema.',
      [{ path, message: `unknown image "${name}"` }],
    );
  const enqueueI2l = (h: Harness, token: string, image_name: string) =>
    h.post(`${Q}/enqueue_batch`, { token, json: { batch: { graph: imageToImageGraph({ image_name }) } } });

  it('takes the caller’s own image; an unknown and another user’s image are the same 422 at the node', async ({
    h,
  }) => {
    const [alice, bob] = [await h.createUser(), await h.createUser()];
    const image = await generated(h, alice.user.user_id);
    const ok = await enqueueI2l(h, alice.token, image.image_name);
    expect([ok.status, (await ok.json()).enqueued]).toEqual([201, 1]);
    const unknown = `${crypto.randomUUID()}.png`;
    await unknownImage(await enqueueI2l(h, bob.token, unknown), 'batch.graph.nodes.i2l.image', unknown);
    await unknownImage(
      await enqueueI2l(h, bob.token, image.image_name),
      'batch.graph.nodes.i2l.image',
      image.image_name,
    );
    expect(await countMine(h, bob.token)).toBe(0);
  });

  it('lets an admin use any user’s image', async ({ h, admin }) => {
    const alice = await h.createUser();
    const image = await generated(h, alice.user.user_id);
    expect((await enqueueI2l(h, admin.token, image.image_name)).status).toBe(201);
  });

  it('checks images given by batch data too', async ({ h }) => {
    const [alice, bob] = [await h.createUser(), await h.createUser()];
    const [mine, bobs] = [await generated(h, alice.user.user_id), await generated(h, bob.user.user_id)];
    const items = [{ image_name: mine.image_name }, { image_name: bobs.image_name }];
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: alice.token,
      json: {
        batch: {
          graph: imageToImageGraph({ image_name: mine.image_name }),
          data: [[{ node_path: 'i2l', field_name: 'image', items }]],
        },
      },
    });
    await unknownImage(res, 'batch.data.0.0.items.1', bobs.image_name);
  });
});

describe('capacity', () => {
  it('over the user’s max_pending the whole batch is refused with 429 quota_exceeded', async ({
    h,
    admin,
  }) => {
    const u = await h.createUser();
    await h.patch(`/api/v1/users/${u.user.user_id}`, { token: admin.token, json: { max_pending: 5 } });
    await enqueue(h, u.token, { runs: 3 });
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: u.token,
      json: { batch: { graph: textToImageGraph(), runs: 3 } },
    });
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual(
      problem(
        res,
        'quota_exceeded',
        429,
        'Quota exceeded',
        'At most 5 pending and running items per user; 3 are queued, and 3 more were asked for.',
      ),
    );
    expect(await countMine(h, u.token)).toBe(3);
    expect(
      (
        await h.post(`${Q}/enqueue_batch`, {
          token: u.token,
          json: { batch: { graph: textToImageGraph(), runs: 2 } },
        })
      ).status,
    ).toBe(201);
  });

  it('enqueues at the same moment never pass the limit together: of 8 single items into 3 free slots, 3 land', async ({
    h,
    admin,
  }) => {
    const u = await h.createUser();
    await h.patch(`/api/v1/users/${u.user.user_id}`, { token: admin.token, json: { max_pending: 3 } });
    const statuses = await Promise.all(
      Array.from({ length: 8 }, () =>
        h
          .post(`${Q}/enqueue_batch`, { token: u.token, json: { batch: { graph: textToImageGraph() } } })
          .then((res) => res.status),
      ),
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    expect(await countMine(h, u.token)).toBe(3);
  });

  it('finished items do not count against the capacity', async ({ h, admin }) => {
    const u = await h.createUser();
    await h.patch(`/api/v1/users/${u.user.user_id}`, { token: admin.token, json: { max_pending: 2 } });
    const { batch } = await enqueue(h, u.token, { runs: 2 });
    await h.put(`${Q}/cancel_by_batch_ids`, { token: u.token, json: { batch_ids: [batch.batch_id] } });
    expect(
      (
        await h.post(`${Q}/enqueue_batch`, {
          token: u.token,
          json: { batch: { graph: textToImageGraph(), runs: 2 } },
        })
      ).status,
    ).toBe(201);
  });

  it('over QUEUE_MAX_SIZE is 429 too', async ({ onTestFinished }) => {
    const small = await createHarness({ onTestFinished }, { config: { queue: { maxSize: 4 } } });
    const u = await small.createUser();
    const ok = await small.post(`${Q}/enqueue_batch`, {
      token: u.token,
      json: { batch: { graph: textToImageGraph(), runs: 3 } },
    });
    expect(ok.status).toBe(201);
    const res = await small.post(`${Q}/enqueue_batch`, {
      token: u.token,
      json: { batch: { graph: textToImageGraph(), runs: 2 } },
    });
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual(
      problem(
        res,
        'quota_exceeded',
        429,
        'Quota exceeded',
        'The queue holds at most 4 pending and running items; it has 3, and 2 more were asked for.',
      ),
    );
  });
});

describe('list pagination', () => {
  it('walks the queue in list order without skips or repeats while items are added', async ({ h }) => {
    const u = await h.createUser();
    const first = (await enqueue(h, u.token, { runs: 25 })).item_ids;
    const seen: number[] = [];
    let cursor: string | null = null;
    let added: number[] = [];
    do {
      const url = `${Q}/list?user=me&limit=10${cursor ? `&cursor=${cursor}` : ''}`;
      const page: { items: { item_id: number }[]; has_more: boolean; next_cursor: string | null } = await (
        await h.get(url, { token: u.token })
      ).json();
      seen.push(...page.items.map((i) => i.item_id));
      expect(page.has_more).toBe(page.next_cursor !== null);
      cursor = page.next_cursor;
      if (seen.length === 10) {
        added = (await enqueue(h, u.token, { runs: 3 })).item_ids;
      }
    } while (cursor);
    expect(seen).toEqual([...first, ...added]);
  });

  it('prepended items list first', async ({ h }) => {
    const u = await h.createUser();
    const normal = (await enqueue(h, u.token, { runs: 2 })).item_ids;
    const urgent = (await enqueue(h, u.token, { runs: 1, prepend: true })).item_ids;
    const page = await (await h.get(`${Q}/list?user=me`, { token: u.token })).json();
    expect(page.items.map((i: { item_id: number }) => i.item_id)).toEqual([...urgent, ...normal]);
  });

  it.for(['nope', 'djE6YTpi', ''])('a cursor the server did not issue (%j) is 400', async (cursor, { h }) => {
    const u = await h.createUser();
    const res = await h.get(`${Q}/list?cursor=${cursor}`, { token: u.token });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(
      problem(res, 'bad_request', 400, 'Bad request', 'The cursor was not issued by this server.'),
    );
  });

  it.for(['limit=0', 'limit=201', 'status=done', 'user=them'])('%s is 422', async (q, { h }) => {
    const u = await h.createUser();
    const res = await h.get(`${Q}/list?${q}`, { token: u.token });
    expect(res.status).toBe(422);
    expect((await res.json()).errors[0].path).toBe(`query.${q.split('=')[0]}`);
  });
});

describe('items_by_ids', () => {
  it('keeps the request order and skips unknown ids', async ({ h }) => {
    const u = await h.createUser();
    const ids = (await enqueue(h, u.token, { runs: 3 })).item_ids;
    const res = await h.post(`${Q}/items_by_ids`, {
      token: u.token,
      json: { item_ids: [ids[2], 999_999, ids[0]] },
    });
    expect((await res.json()).map((i: { item_id: number }) => i.item_id)).toEqual([ids[2], ids[0]]);
  });

  it('more than 1000 ids is 422', async ({ h }) => {
    const u = await h.createUser();
    const res = await h.post(`${Q}/items_by_ids`, {
      token: u.token,
      json: { item_ids: Array.from({ length: 1001 }, (_, i) => i + 1) },
    });
    expect(res.status).toBe(422);
    expect((await res.json()).errors).toEqual([
      { path: 'item_ids', message: 'Too big: expected array to have <=1000 items' },
    ]);
  });
});

describe('unknown ids', () => {
  it('an unknown item is 404; a non-numeric id is 422', async ({ h }) => {
    const u = await h.createUser();
    const res = await h.get(`${Q}/i/123456789`, { token: u.token });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(
      problem(res, 'not_found', 404, 'Not found', 'Queue item 123456789 was not found'),
    );
    expect((await h.get(`${Q}/i/abc`, { token: u.token })).status).toBe(422);
  });

  it.for(['0x10', '1e1', '%2016', '16.0', '-1'])(
    'item id %s is 422: only decimal digits name an item',
    async (id, { h }) => {
      const u = await h.createUser();
      const res = await h.get(`${Q}/i/${id}`, { token: u.token });
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual(
        problem(
          res,
          'validation_failed',
          422,
          'Validation failed',
          'The request does not match the schema.',
          [{ path: 'param.item_id', message: 'must be a decimal integer' }],
        ),
      );
    },
  );
});

describe('owner transfer', () => {
  it('refuses an inactive new owner with 422 and leaves the item as it was', async ({ h, admin }) => {
    const u = await h.createUser();
    const gone = await h.createUser();
    await h.patch(`/api/v1/users/${gone.user.user_id}`, { token: admin.token, json: { is_active: false } });
    const [id] = (await enqueue(h, u.token)).item_ids;
    const res = await h.put(`${Q}/i/${id}/owner`, {
      token: admin.token,
      json: { user_id: gone.user.user_id },
    });
    expect(res.status).toBe(422);
    expect((await res.json()).errors).toEqual([
      { path: 'user_id', message: `User ${gone.user.user_id} is inactive.` },
    ]);
    expect((await (await h.get(`${Q}/i/${id}`, { token: admin.token })).json()).user_id).toBe(u.user.user_id);
  });
});

// A batch has no owner before it is enqueued: no other user's resource to test.
runCommonAuthTests(test, 'POST /api/v1/queue/{queue_id}/enqueue_batch', {
  otherUser: 'none',
  prepareRequest: async () => ({
    method: 'POST',
    path: `${Q}/enqueue_batch`,
    json: { batch: { graph: textToImageGraph() } },
  }),
});
