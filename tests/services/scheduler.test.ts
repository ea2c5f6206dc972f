import { sql } from 'drizzle-orm';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect } from 'vitest';
import type { ServerEvent } from '../../src/core/events.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { contextFromDeps } from '../../src/deps.ts';
import { FakeRuntime, type FakeRuntimeOptions } from '../../src/runtime/fake-runtime.ts';
import { RuntimeError } from '../../src/runtime/interface.ts';
import { WorkerPool } from '../../src/worker/pool.ts';
import type { SaveImageRequest } from '../../src/worker/run-session.ts';
import { harnessTest } from '../helpers/fixtures.ts';
import { imageToImageGraph, textToImageGraph, textToImageTrace } from '../helpers/graphs.ts';
import type { Harness, TestUser } from '../helpers/harness.ts';
import { generated, IMAGES } from '../helpers/images.ts';
import { Q } from '../helpers/queue.ts';

/** A test's scheduler: the one `start` made is closed when the test ends, and the queue emptied. */
interface Scheduling {
  /** The images the test's scheduler saved, in order. */
  saved: (SaveImageRequest & { userId: string; itemId: number })[];
  /** Starts a scheduler over a fake runtime; it serves the harness's app as its processor. */
  start(
    opts?: FakeRuntimeOptions,
    fairness?: 'round_robin' | 'fifo',
    beforeSave?: (itemId: number) => Promise<void> | void,
  ): Promise<{ runtime: FakeRuntime; scheduler: WorkerPool }>;
  /** Closes the scheduler `start` made now, rather than when the test ends. */
  close(): Promise<void>;
}

/** The file's harness with Alice, Bob and an admin, and `sched`, each test's own scheduler. */
const test = harnessTest({}, { alice: { displayName: 'Alice' }, bob: { displayName: 'Bob' } }).extend(
  'sched',
  { auto: true },
  async ({ h }, { onCleanup }): Promise<Scheduling> => {
    const current: { scheduler: WorkerPool | null } = { scheduler: null };
    const saved: Scheduling['saved'] = [];
    const close = async () => {
      await current.scheduler?.close();
      current.scheduler = null;
    };
    onCleanup(async () => {
      await close();
      await h.db.execute(sql`DELETE FROM session_queue`);
      await h.db.execute(sql`DELETE FROM queue_user_turns`);
      await h.db.execute(sql`DELETE FROM queue_state`);
      await h.db.execute(sql`DELETE FROM workers`);
      h.events.clear();
    });
    return {
      saved,
      close,
      async start(opts = {}, fairness = 'round_robin', beforeSave = () => {}) {
        const runtime = new FakeRuntime(opts);
        const s = new WorkerPool({
          db: h.db,
          clock: h.clock,
          runtime,
          logger: h.deps.logger,
          fairness,
          pollIntervalMs: 60_000,
          saveImage: async (_ctx, owner, request, leased) => {
            await leased;
            await beforeSave(owner.itemId);
            saved.push({ ...request, ...owner });
            return { image_name: `img-${owner.itemId}-${request.nodeId}.png` };
          },
        });
        h.deps.workers = s;
        current.scheduler = s;
        return { runtime, scheduler: s };
      },
    };
  },
);
const it = test;

const begin = (h: Harness, s: WorkerPool) => s.start(contextFromDeps(h.deps, 'scheduler', null));

async function enqueueGraph(
  h: Harness,
  user: TestUser,
  opts: { runs?: number; steps?: number; prompt?: string; seed?: number } = {},
) {
  const res = await h.post(`${Q}/enqueue_batch`, {
    token: user.token,
    json: {
      batch: {
        graph: textToImageGraph({ steps: opts.steps ?? 2, prompt: opts.prompt, seed: opts.seed }),
        runs: opts.runs ?? 1,
      },
    },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { item_ids: number[]; batch: { batch_id: string } };
}

const statusEvent = (itemId: number, status: string) => (e: ServerEvent) =>
  e.name === 'queue_item_status_changed' && e.data.item_id === itemId && e.data.status === status;

/** The events of one item, as `name:node` strings (status changes as `status:<status>`). */
function trace(h: Harness, itemId: number): string[] {
  return h.events.events
    .filter((e) => e.data.item_id === itemId)
    .map((e) =>
      e.name === 'queue_item_status_changed'
        ? `status:${e.data.status}`
        : `${e.name.replace('invocation_', '')}:${(e.data.invocation as { id: string }).id}${
            e.name === 'invocation_progress' ? `:${e.data.step}/${e.data.total_steps}` : ''
          }`,
    );
}

describe('scheduler', () => {
  it('runs a batch of 3 node by node, with every event to the owner only, and saves one image each', async ({
    h,
    alice,
    sched,
  }) => {
    const { runtime, scheduler: s } = await sched.start();
    await begin(h, s);
    const { item_ids, batch } = await enqueueGraph(h, alice, { runs: 3, prompt: 'a red fox', seed: 7 });
    await h.events.waitFor(statusEvent(item_ids[2] as number, 'completed'));
    for (const id of item_ids) {
      expect(trace(h, id)).toEqual(textToImageTrace(2));
    }
    const owned = h.events.events.filter((e) => e.data.item_id !== undefined);
    expect(new Set(owned.map((e) => e.ownerId))).toEqual(new Set([alice.user.user_id]));
    const complete = h.events.events.find(
      (e) =>
        e.name === 'invocation_complete' &&
        e.data.item_id === item_ids[0] &&
        (e.data.invocation as { id: string }).id === 'l2i',
    );
    expect(complete?.data).toEqual({
      queue_id: 'default',
      item_id: item_ids[0],
      batch_id: batch.batch_id,
      session_id: expect.any(String),
      user_id: alice.user.user_id,
      invocation: { id: 'l2i', type: 'l2i' },
      invocation_source_id: 'l2i',
      result: {
        type: 'image_output',
        image: { image_name: `img-${item_ids[0]}-l2i.png` },
        width: 64,
        height: 64,
      },
    });
    expect(sched.saved.map((r) => [r.itemId, r.userId, r.nodeId, r.boardId, r.isIntermediate])).toEqual(
      item_ids.map((id) => [id, alice.user.user_id, 'l2i', null, false]),
    );
    expect(sched.saved[0]?.metadata).toEqual({
      model: 'tiny-sd',
      prompt: 'a red fox',
      negative_prompt: '',
      seed: 7,
      steps: 2,
      cfg_scale: 7.5,
      scheduler: 'euler',
      width: 64,
      height: 64,
    });
    const items = await (
      await h.post(`${Q}/items_by_ids`, { token: alice.token, json: { item_ids } })
    ).json();
    expect(items.map((i: { status: string }) => i.status)).toEqual(['completed', 'completed', 'completed']);
    // Every session's tensors were freed.
    expect(runtime.ended.length).toBe(3);
    expect(await s.status('default')).toEqual({ is_started: true, is_processing: false });
    // The first item's log line (written before the next items ended) tells where its time went, by step.
    const timings = h.logs.find((l) => l.msg === 'item completed' && l.item_id === item_ids[0])?.timings_ms;
    expect(Object.entries(timings as Record<string, number>).sort()).toEqual(
      [
        'claim',
        'compel',
        'denoise_latents',
        'finish',
        'l2i',
        'lease',
        'main_model_loader',
        'noise',
        'save',
      ].map((k) => [k, expect.any(Number)]),
    );
  });

  it('cancels a running item before its next step: no image, item canceled, the next item runs', async ({
    h,
    alice,
    sched,
  }) => {
    let reached: () => void = () => {};
    const atStep3 = new Promise<void>((r) => {
      reached = r;
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { runtime, scheduler: s } = await sched.start({
      beforeStep: (step, inv) => {
        if (step === 3 && inv.inputs.steps === 50) {
          reached();
          return gate;
        }
      },
    });
    await begin(h, s);
    const long = await enqueueGraph(h, alice, { steps: 50 });
    const next = await enqueueGraph(h, alice, { steps: 2 });
    const longId = long.item_ids[0] as number;
    await atStep3;
    expect(await s.status('default')).toEqual({ is_started: true, is_processing: true });
    const res = await h.put(`${Q}/i/${longId}/cancel`, { token: alice.token });
    expect(res.status).toBe(200);
    release();
    await h.events.waitFor(statusEvent(next.item_ids[0] as number, 'completed'));
    expect(trace(h, longId)).toEqual([...textToImageTrace(50).slice(0, 13), 'status:canceled']);
    expect(
      runtime.runs.filter((r) => r.sessionId === runtime.runs[0]?.sessionId).map((r) => r.nodeId),
    ).toEqual(['model', 'negative', 'noise', 'positive', 'denoise']);
    expect(sched.saved.map((r) => r.itemId)).toEqual([next.item_ids[0]]);
  });

  it('shows the owner a failure without server paths or stack frames, and logs the whole of it', async ({
    h,
    alice,
    sched,
  }) => {
    const where = '/srv/easel/models/tiny-sd/unet/model.onnx';
    const traceback = `Error: Load model from ${where} failed\n    at run (/srv/easel/src/node/inference-child.ts:90:11)`;
    const { scheduler: s } = await sched.start({
      failWith: (inv) =>
        inv.type === 'denoise_latents'
          ? new RuntimeError('OrtError', `Load model from ${where} failed`, traceback)
          : undefined,
    });
    await begin(h, s);
    const itemId = (await enqueueGraph(h, alice)).item_ids[0] as number;
    await h.events.waitFor(statusEvent(itemId, 'failed'));
    const shown = {
      error_type: 'OrtError',
      error_message: 'Load model from model.onnx failed',
      error_traceback: 'Error: Load model from model.onnx failed',
    };
    expect(h.events.events.find((e) => e.name === 'invocation_error')?.data).toMatchObject(shown);
    const item = await (await h.get(`${Q}/i/${itemId}`, { token: alice.token })).json();
    expect({
      error_type: item.error_type,
      error_message: item.error_message,
      error_traceback: item.error_traceback,
    }).toEqual(shown);
    expect(h.logs.find((l) => l.msg === 'item failed' && l.item_id === itemId)).toMatchObject({
      level: 'warn',
      error_message: shown.error_message,
      traceback,
    });
  });

  it('saves an image again once the database answers after a dropped connection: the item completes, one image', async ({
    h,
    alice,
    sched,
  }) => {
    let attempts = 0;
    const { scheduler: s } = await sched.start({}, 'round_robin', () => {
      attempts++;
      if (attempts === 1) {
        throw new DrizzleQueryError(
          'INSERT INTO images …',
          [],
          Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
        );
      }
    });
    await begin(h, s);
    const itemId = (await enqueueGraph(h, alice)).item_ids[0] as number;
    await h.events.waitFor(statusEvent(itemId, 'completed'));
    expect([attempts, sched.saved.map((r) => r.itemId)]).toEqual([2, [itemId]]);
    expect(trace(h, itemId)).toEqual(textToImageTrace(2));
    expect(
      h.logs.filter((l) => l.msg === 'database unavailable: will save the image once it is back'),
    ).toMatchObject([{ level: 'warn', item_id: itemId, code: 'ECONNRESET' }]);
  });

  it('marks an item failed when a node fails, publishes invocation_error, and runs the next item', async ({
    h,
    alice,
    sched,
  }) => {
    const { scheduler: s } = await sched.start({
      failWith: (inv) =>
        inv.type === 'denoise_latents' && inv.inputs.steps === 3
          ? new RuntimeError('OutOfMemory', 'not enough memory for 3 steps', 'trace line 1')
          : undefined,
    });
    await begin(h, s);
    const bad = await enqueueGraph(h, alice, { steps: 3 });
    const good = await enqueueGraph(h, alice, { steps: 2 });
    await h.events.waitFor(statusEvent(good.item_ids[0] as number, 'completed'));
    const badId = bad.item_ids[0] as number;
    expect(trace(h, badId).slice(-3)).toEqual(['started:denoise', 'error:denoise', 'status:failed']);
    const error = h.events.events.find((e) => e.name === 'invocation_error');
    expect(error?.data).toMatchObject({
      item_id: badId,
      invocation: { id: 'denoise', type: 'denoise_latents' },
      error_type: 'OutOfMemory',
      error_message: 'not enough memory for 3 steps',
      error_traceback: 'trace line 1',
    });
    const item = await (await h.get(`${Q}/i/${badId}`, { token: alice.token })).json();
    expect([item.status, item.error_type, item.error_message, item.error_traceback]).toEqual([
      'failed',
      'OutOfMemory',
      'not enough memory for 3 steps',
      'trace line 1',
    ]);
    expect(trace(h, good.item_ids[0] as number)).toEqual(textToImageTrace(2));
  });

  it('gives an i2l the stored file of the owner’s image, and fails it when the image is gone by its run', async ({
    h,
    alice,
    sched,
  }) => {
    const { runtime, scheduler: s } = await sched.start();
    const enqueueI2l = async (image_name: string) => {
      const graph = imageToImageGraph({ image_name, steps: 2 });
      const res = await h.post(`${Q}/enqueue_batch`, { token: alice.token, json: { batch: { graph } } });
      expect(res.status).toBe(201);
      return (await res.json()).item_ids[0] as number;
    };
    const [image, gone] = [await generated(h, alice.user.user_id), await generated(h, alice.user.user_id)];
    const kept = await enqueueI2l(image.image_name);
    const lost = await enqueueI2l(gone.image_name);
    expect((await h.delete(`${IMAGES}/i/${gone.image_name}`, { token: alice.token })).status).toBe(204);
    await begin(h, s);
    await h.events.waitFor(statusEvent(lost, 'failed'));
    const i2l = runtime.runs.filter((r) => r.type === 'i2l');
    expect(i2l.map((r) => r.inputs.image)).toEqual([{ image_name: image.image_name }]);
    expect(i2l[0]?.inputs.image_file).toEqual(await h.deps.blobs.get(`images/${image.image_name}`));
    expect(trace(h, kept)).toContain('complete:i2l');
    expect(trace(h, kept).at(-1)).toBe('status:completed');
    expect(trace(h, lost).slice(-3)).toEqual(['started:i2l', 'error:i2l', 'status:failed']);
    const item = await (await h.get(`${Q}/i/${lost}`, { token: alice.token })).json();
    expect([item.error_type, item.error_message]).toEqual([
      'ImageNotFound',
      `unknown image "${gone.image_name}"`,
    ]);
  });

  it('interleaves two users round-robin, and starts nothing while paused', async ({
    h,
    alice,
    bob,
    admin,
    sched,
  }) => {
    // Each run takes a second of the fake clock, so every start has its own time.
    const { scheduler: s } = await sched.start({ beforeStep: () => h.clock.advance(1000) });
    await begin(h, s);
    expect((await h.put(`${Q}/processor/pause`, { token: admin.token })).status).toBe(200);
    const a = await enqueueGraph(h, alice, { runs: 3 });
    const b = await enqueueGraph(h, bob, { runs: 2 });
    const status = await (await h.get(`${Q}/status`, { token: alice.token })).json();
    expect(status.processor).toEqual({ is_started: false, is_processing: false });
    expect(status.queue.pending).toBe(5);
    expect(h.events.events.filter((e) => e.name === 'queue_item_status_changed')).toEqual([]);
    expect(await (await h.put(`${Q}/processor/resume`, { token: admin.token })).json()).toEqual({
      is_started: true,
      is_processing: expect.any(Boolean),
    });
    await h.events.waitFor(statusEvent(a.item_ids[2] as number, 'completed'));
    const started = h.events.events.filter(
      (e) => e.name === 'queue_item_status_changed' && e.data.status === 'in_progress',
    );
    expect(started.map((e) => e.data.item_id)).toEqual([
      a.item_ids[0],
      b.item_ids[0],
      a.item_ids[1],
      b.item_ids[1],
      a.item_ids[2],
    ]);
  });

  it('runs the next item while the one before saves its image, and finishes them in order', async ({
    h,
    alice,
    sched,
  }) => {
    let saving: () => void = () => {};
    const firstSaving = new Promise<void>((r) => {
      saving = r;
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let first: number | undefined;
    const { scheduler: s } = await sched.start({}, 'round_robin', (itemId) => {
      if (itemId === first) {
        saving();
        return gate;
      }
    });
    const { item_ids } = await enqueueGraph(h, alice, { runs: 3 });
    const [a, b, c] = item_ids as [number, number, number];
    first = a;
    await begin(h, s);
    // The first item's inference is done and its image is being saved: the second item runs meanwhile.
    await firstSaving;
    await h.events.waitFor(
      (e) =>
        e.name === 'invocation_started' &&
        e.data.item_id === b &&
        (e.data.invocation as { id: string }).id === 'l2i',
    );
    expect(await s.status('default')).toEqual({ is_started: true, is_processing: true });
    const status = await (await h.get(`${Q}/status`, { token: alice.token })).json();
    expect([status.queue.in_progress, status.queue.pending]).toEqual([2, 1]);
    // Nothing of the third item yet, and the second waits for the first before finishing.
    expect(trace(h, c)).toEqual([]);
    expect(trace(h, b).slice(-3)).toEqual(['complete:denoise', 'started:l2i', 'progress:l2i:0/1']);
    release();
    await h.events.waitFor(statusEvent(c, 'completed'));
    const finished = h.events.events.filter(
      (e) => e.name === 'queue_item_status_changed' && e.data.status === 'completed',
    );
    expect(finished.map((e) => e.data.item_id)).toEqual([a, b, c]);
    for (const id of item_ids) {
      expect(trace(h, id)).toEqual(textToImageTrace(2));
    }
  });

  it('leaves the running item in_progress when it stops with the server, for the next start to recover', async ({
    h,
    alice,
    sched,
  }) => {
    let reached: () => void = () => {};
    const atStep1 = new Promise<void>((r) => {
      reached = r;
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { scheduler: s } = await sched.start({
      beforeStep: (step) => {
        if (step === 1) {
          reached();
          return gate;
        }
      },
    });
    await begin(h, s);
    const { item_ids } = await enqueueGraph(h, alice, { steps: 5 });
    await atStep1;
    const closing = sched.close();
    release();
    await closing;
    const item = await (await h.get(`${Q}/i/${item_ids[0]}`, { token: alice.token })).json();
    expect([item.status, item.completed_at, item.error_type]).toEqual(['in_progress', null, null]);
    expect(trace(h, item_ids[0] as number).at(-1)).toBe('started:denoise');
    expect(sched.saved).toEqual([]);
  });

  it('on start, puts interrupted items back to pending and fails one interrupted for the third time', async ({
    h,
    alice,
    sched,
  }) => {
    const { item_ids } = await enqueueGraph(h, alice, { runs: 2 });
    const [again, third] = item_ids as [number, number];
    await h.db.execute(
      sql`UPDATE session_queue SET status = 'in_progress', started_at = now(), interruptions = 0 WHERE item_id = ${again}`,
    );
    await h.db.execute(
      sql`UPDATE session_queue SET status = 'in_progress', started_at = now(), interruptions = 2 WHERE item_id = ${third}`,
    );
    const { scheduler: s } = await sched.start();
    await begin(h, s);
    await h.events.waitFor(statusEvent(again, 'completed'));
    const failed = await (await h.get(`${Q}/i/${third}`, { token: alice.token })).json();
    expect([failed.status, failed.error_type, failed.error_message]).toEqual([
      'failed',
      'interrupted',
      "The item's worker stopped while it ran, 3 times.",
    ]);
    const rows = await h.db.execute(sql`SELECT item_id, interruptions FROM session_queue ORDER BY item_id`);
    const list = rowsOf<{ item_id: number; interruptions: number }>(rows);
    expect(list.map((r) => [Number(r.item_id), Number(r.interruptions)])).toEqual([
      [again, 1],
      [third, 3],
    ]);
    expect(trace(h, again)).toEqual(['status:pending', ...textToImageTrace(2)]);
    expect(trace(h, third)).toEqual(['status:failed']);
  });
});
