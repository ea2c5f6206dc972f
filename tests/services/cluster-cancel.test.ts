import { expect, it } from 'vitest';
import { contextFromDeps } from '../../src/deps.ts';
import { FakeRuntime } from '../../src/runtime/fake-runtime.ts';
import { IdleWorkers } from '../../src/worker/idle.ts';
import { WorkerPool } from '../../src/worker/pool.ts';
import { deferred, secondConnection } from '../helpers/cluster.ts';
import { textToImageGraph } from '../helpers/graphs.ts';
import { createHarness } from '../helpers/harness.ts';
import { Q } from '../helpers/queue.ts';

/** Longer than any test: no lease renewal (which would also find the cancel) happens during one. */
const LEASE_SECONDS = 3600;

// API.md section 8: a cancel through process A stops the item that a worker of process B runs at once, through
// the queue's notice, not at B's next lease renewal (a third of LEASE_SECONDS later).
it('a cancel through A stops the item a worker of B runs before its next step, and B saves nothing', async (t) => {
  const a = await createHarness(t, { channelLog: true });
  const second = await secondConnection(a);
  const b = await createHarness(t, { database: second, channelLog: true });
  // A runs no worker: what it does for one it does through the database (ROLE=api).
  a.deps.workers = new IdleWorkers({ db: a.db, clock: a.clock, logger: a.deps.logger });
  const alice = await a.createUser();

  const atStep2 = deferred();
  const stopped = deferred();
  const runtime = new FakeRuntime({
    beforeStep: (step) => {
      if (step === 2) {
        atStep2.resolve();
        return stopped.promise;
      }
    },
  });
  const cancel = runtime.cancel.bind(runtime);
  runtime.cancel = (sessionId) => {
    cancel(sessionId);
    stopped.resolve();
  };
  const saved: number[] = [];
  const pool = new WorkerPool({
    db: b.db,
    clock: b.clock,
    logger: b.deps.logger,
    fairness: 'fifo',
    nodeId: 'b',
    notifier: second.notifier,
    leaseSeconds: LEASE_SECONDS,
    pollIntervalMs: 60_000,
    workers: [{ device: 'cpu', runtime }],
    saveImage: async (_ctx, owner, _request, leased) => {
      await leased;
      saved.push(owner.itemId);
      return { image_name: 'x.png' };
    },
  });
  t.onTestFinished(() => pool.close());
  await pool.start(contextFromDeps(b.deps, 'workers', null));

  const res = await a.post(`${Q}/enqueue_batch`, {
    token: alice.token,
    json: { batch: { graph: textToImageGraph({ steps: 5 }) } },
  });
  expect(res.status).toBe(201);
  const itemId = (await res.json()).item_ids[0] as number;
  await atStep2.promise;
  const canceled = await a.put(`${Q}/i/${itemId}/cancel`, { token: alice.token });
  expect([canceled.status, (await canceled.json()).status]).toEqual([200, 'canceled']);

  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('not stopped within 10 s'), 10_000);
  });
  expect(await Promise.race([stopped.promise.then(() => 'stopped'), late])).toBe('stopped');
  clearTimeout(timer);
  await pool.close();
  expect(saved).toEqual([]);
  expect(runtime.runs.filter((r) => r.type === 'l2i')).toEqual([]);
});
