import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { claimNext } from '../../src/worker/claim.ts';
import { IdleWorkers } from '../../src/worker/idle.ts';
import { markBusy, markIdle, registerWorker } from '../../src/worker/registry.ts';
import { test as fileTest } from '../helpers/fixtures.ts';
import { enqueue, Q } from '../helpers/queue.ts';
import { runCommonAuthTests } from '../helpers/security.ts';

const test = fileTest.extend('user', { scope: 'file' }, ({ h }) => h.createUser());
const it = test;

test.afterEach(async ({ h }) => {
  await h.db.execute(sql`DELETE FROM workers`);
  await h.db.execute(sql`DELETE FROM queue_state`);
  await h.db.execute(sql`DELETE FROM session_queue`);
});

const WORKERS = '/api/v1/workers';
const A = { workerId: 'node-a/0:cpu', nodeId: 'node-a', device: 'cpu' };
const B = { workerId: 'node-b/0:cuda:1', nodeId: 'node-b', device: 'cuda:1' };

describe('GET /api/v1/workers', () => {
  it('lists the workers of every process, busy with their item, idle, and gone once unseen for the lease + 10 s', async ({
    h,
    admin,
  }) => {
    expect(await (await h.get(WORKERS, { token: admin.token })).json()).toEqual([]);
    const t0 = h.clock.now();
    await registerWorker(h.db, A, t0);
    await registerWorker(h.db, B, t0);
    await markBusy(h.db, B.workerId, 42, t0);
    const res = await h.get(WORKERS, { token: admin.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([
      {
        worker_id: A.workerId,
        node_id: 'node-a',
        device: 'cpu',
        state: 'idle',
        item_id: null,
        last_seen_at: t0.toISOString(),
      },
      {
        worker_id: B.workerId,
        node_id: 'node-b',
        device: 'cuda:1',
        state: 'busy',
        item_id: 42,
        last_seen_at: t0.toISOString(),
      },
    ]);
    // B's process died: A is still heard from (the harness's lease is the default 30 s).
    h.clock.advance(40_001);
    const t1 = h.clock.now();
    await markIdle(h.db, A.workerId, t1);
    const later = await (await h.get(WORKERS, { token: admin.token })).json();
    expect(later.map((w: { worker_id: string; state: string }) => [w.worker_id, w.state])).toEqual([
      [A.workerId, 'idle'],
      [B.workerId, 'gone'],
    ]);
  });
});

describe('/metrics per worker', () => {
  it('counts items done and busy seconds per worker', async ({ h, admin }) => {
    const t0 = h.clock.now();
    await registerWorker(h.db, A, t0);
    await markBusy(h.db, A.workerId, 1, t0);
    h.clock.advance(2500);
    await markIdle(h.db, A.workerId, h.clock.now());
    const text = await (await h.get('/metrics', { token: admin.token })).text();
    const labels = 'worker_id="node-a/0:cpu",node_id="node-a",device="cpu"';
    expect(text).toContain(`\neasel_worker_items_total{${labels}} 1\n`);
    expect(text).toContain(`\neasel_worker_busy_seconds_total{${labels}} 2.5\n`);
  });
});

describe('pause and resume, shared by every process', () => {
  it('pause is seen by another process at once, stops claims, and resume lifts it', async ({
    h,
    admin,
    user,
  }) => {
    await enqueue(h, user.token, { runs: 1 });
    const pause = await h.put(`${Q}/processor/pause`, { token: admin.token });
    expect(pause.status).toBe(200);
    expect(await pause.json()).toEqual({ is_started: false, is_processing: false });
    // Another process on the same database: its own workers port.
    const other = new IdleWorkers({ db: h.db, clock: h.clock });
    expect(await other.status('default')).toEqual({ is_started: false, is_processing: false });
    const claim = () =>
      claimNext(h.db, {
        queueId: 'default',
        fairness: 'round_robin',
        workerId: 'other/0:cpu',
        device: 'cpu',
        now: h.clock.now(),
      });
    expect(await claim()).toBeUndefined();
    const status = await (await h.get(`${Q}/status`, { token: user.token })).json();
    expect(status.processor).toEqual({ is_started: false, is_processing: false });
    expect(await other.resume('default')).toEqual({ is_started: true, is_processing: false });
    const seen = await (await h.get(`${Q}/status`, { token: user.token })).json();
    expect(seen.processor).toEqual({ is_started: true, is_processing: false });
    const claimed = await claim();
    expect([claimed?.status, claimed?.workerId, claimed?.device]).toEqual([
      'in_progress',
      'other/0:cpu',
      'cpu',
    ]);
    const item = await (await h.get(`${Q}/i/${claimed?.itemId}`, { token: user.token })).json();
    expect([item.worker_id, item.device]).toEqual(['other/0:cpu', 'cpu']);
  });
});

runCommonAuthTests(test, 'GET /api/v1/workers', {
  otherUser: 'forbidden',
  prepareRequest: async () => ({
    method: 'GET',
    path: WORKERS,
    forbiddenDetail: 'This action needs an admin.',
    adminStatus: 200,
  }),
});
