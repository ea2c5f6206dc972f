import { describe, expect } from 'vitest';
import { harnessTest } from '../helpers/fixtures.ts';
import { textToImageGraph } from '../helpers/graphs.ts';
import { enqueue, Q } from '../helpers/queue.ts';

const it = harnessTest({}, { alice: { displayName: 'Alice' } });

describe('enqueue and read back', () => {
  it('enqueues a batch and lists it with the owner names', async ({ h, alice }) => {
    h.events.clear();
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: alice.token,
      json: { batch: { graph: textToImageGraph(), runs: 2, origin: 'canvas', destination: 'gallery' } },
    });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toEqual({
      queue_id: 'default',
      batch: {
        batch_id: expect.any(String),
        graph: textToImageGraph(),
        runs: 2,
        origin: 'canvas',
        destination: 'gallery',
      },
      enqueued: 2,
      requested: 2,
      priority: 0,
      item_ids: [expect.any(Number), expect.any(Number)],
    });
    expect(body.item_ids[1]).toBe(body.item_ids[0] + 1);
    expect(h.events.events).toEqual([
      {
        name: 'batch_enqueued',
        queueId: 'default',
        ownerId: alice.user.user_id,
        data: {
          queue_id: 'default',
          batch_id: body.batch.batch_id,
          enqueued: 2,
          requested: 2,
          priority: 0,
          origin: 'canvas',
          user_id: alice.user.user_id,
        },
      },
    ]);
    const item = await (await h.get(`${Q}/i/${body.item_ids[0]}`, { token: alice.token })).json();
    const now = h.clock.now().toISOString();
    expect(item).toEqual({
      item_id: body.item_ids[0],
      queue_id: 'default',
      batch_id: body.batch.batch_id,
      session_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'pending',
      priority: 0,
      origin: 'canvas',
      destination: 'gallery',
      field_values: null,
      session: { id: item.session_id, graph: textToImageGraph() },
      workflow: null,
      error_type: null,
      error_message: null,
      error_traceback: null,
      created_at: now,
      updated_at: now,
      started_at: null,
      completed_at: null,
      retried_from_item_id: null,
      worker_id: null,
      device: null,
      user_id: alice.user.user_id,
      user_display_name: 'Alice',
      user_email: alice.user.email,
      redacted: false,
    });
  });

  it('status counts the queue and the caller', async ({ h }) => {
    const bob = await h.createUser();
    await enqueue(h, bob.token, { runs: 3 });
    const res = await h.get(`${Q}/status`, { token: bob.token });
    const body = await res.json();
    expect(body.mine).toEqual({ pending: 3, in_progress: 0, completed: 0, failed: 0, canceled: 0, total: 3 });
    expect(body.processor).toEqual({ is_started: true, is_processing: false });
    expect(body.queue.pending).toBeGreaterThanOrEqual(3);
  });
});
