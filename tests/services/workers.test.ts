import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import type { ServiceContext } from '../../src/core/context.ts';
import type { ServerEvent } from '../../src/core/events.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { contextFromDeps } from '../../src/deps.ts';
import { FakeRuntime, type FakeRuntimeOptions } from '../../src/runtime/fake-runtime.ts';
import { WorkerPool } from '../../src/worker/pool.ts';
import { sweepLapsed } from '../../src/worker/sweep.ts';
import { deferred, itemState } from '../helpers/cluster.ts';
import { test as fileTest } from '../helpers/fixtures.ts';
import { textToImageGraph } from '../helpers/graphs.ts';
import type { Harness } from '../helpers/harness.ts';
import { Q } from '../helpers/queue.ts';

/** A test's worker pool: the one it `adopt`s is closed when the test ends, and the queue emptied. */
interface PoolRun {
  /** The items the test's pool saved an image of, in order. */
  saved: { itemId: number; workerId: string }[];
  /** Makes `p` the harness's workers and the pool closed when the test ends. */
  adopt(p: WorkerPool): WorkerPool;
}

/** The file's harness and admin, `users` (U1, U2, U3), and `run`, each test's own pool. */
const test = fileTest
  .extend('users', { scope: 'file' }, async ({ h }) => [
    await h.createUser({ displayName: 'U1' }),
    await h.createUser({ displayName: 'U2' }),
    await h.createUser({ displayName: 'U3' }),
  ])
  .extend('run', { auto: true }, async ({ h }, { onCleanup }): Promise<PoolRun> => {
    const current: { pool: WorkerPool | null } = { pool: null };
    onCleanup(async () => {
      await current.pool?.close();
      current.pool = null;
      for (const table of ['session_queue', 'queue_user_turns', 'queue_state', 'workers']) {
        await h.db.execute(sql.raw(`DELETE FROM ${table}`));
      }
      h.events.clear();
    });
    return {
      saved: [],
      adopt(p) {
        current.pool = p;
        h.deps.workers = p;
        return p;
      },
    };
  });
const it = test;

type WorkerRow = { worker_id: string; state: string };

/** A clock that moves 1 ms on every reading, so every claim has its own time (round-robin turns). */
function tickingContext(h: Harness): ServiceContext {
  let t = h.clock.now().getTime();
  const clock = { now: () => new Date(t++) };
  return { ...contextFromDeps(h.deps, 'workers', null), clock };
}

/** Two workers in one process (`DEVICES=cpu,cpu`), each on its own fake runtime. */
function twoWorkers(
  { h, run }: { h: Harness; run: PoolRun },
  opts: FakeRuntimeOptions = {},
  fairness: 'round_robin' | 'fifo' = 'round_robin',
) {
  const runtimes = [new FakeRuntime(opts), new FakeRuntime(opts)];
  const p = new WorkerPool({
    db: h.db,
    clock: h.clock,
    logger: h.deps.logger,
    fairness,
    nodeId: 'n1',
    workers: runtimes.map((runtime) => ({ device: 'cpu', runtime })),
    pollIntervalMs: 60_000,
    saveImage: async (_ctx, owner, _request, leased) => {
      await leased;
      run.saved.push({ itemId: owner.itemId, workerId: '' });
      return { image_name: `img-${owner.itemId}.png` };
    },
  });
  run.adopt(p);
  return { pool: p, runtimes };
}

/** A graph with one primitive node: a claim, a run and a finish, without the runtime. */
const TINY_SESSION = JSON.stringify({
  graph: { id: 'g', nodes: { v: { id: 'v', type: 'integer', value: 1 } }, edges: [] },
});

/** Inserts `count` pending items for a user (their ids ascending). */
async function insertTiny(h: Harness, userId: string, count: number): Promise<number[]> {
  const rows = rowsOf<{ item_id: number }>(
    await h.db.execute(sql`INSERT INTO session_queue
      (queue_id, batch_id, session_id, status, priority, session, created_at, updated_at, user_id)
      SELECT 'default', 'b-' || ${userId}, gen_random_uuid()::text, 'pending', 0, ${TINY_SESSION}::jsonb,
        now(), now(), ${userId}
      FROM generate_series(1, ${count}) g ORDER BY g RETURNING item_id`),
  );
  return rows.map((r) => Number(r.item_id)).sort((a, b) => a - b);
}

/** Resolves once `n` items reached `status` (as published). */
function untilStatus(h: Harness, status: string, n: number): Promise<void> {
  const done = deferred();
  let seen = 0;
  const stop = h.channels.observe((e) => {
    if (e.name === 'queue_item_status_changed' && e.data.status === status && ++seen === n) {
      stop();
      done.resolve();
    }
  });
  return done.promise;
}

const statusEvents = (h: Harness, status: string) =>
  h.events.events.filter((e) => e.name === 'queue_item_status_changed' && e.data.status === status);

const statusTrace = (h: Harness, itemId: number) =>
  h.events.events
    .filter((e: ServerEvent) => e.name === 'queue_item_status_changed' && e.data.item_id === itemId)
    .map((e) => e.data.status);

describe('two workers in one process', () => {
  it.for(['round_robin', 'fifo'] as const)(
    '%s: items of three users (300 on each database), each claimed once, in the queue order, by both workers',
    { timeout: 120_000 },
    async (fairness, { h, users, admin, run }) => {
      // 600 claims per database over the two modes (tests/services/cluster-claim.test.ts races 600 more on
      // four connections).
      const PER_USER = 100;
      const ids = new Map<string, number[]>();
      for (const u of users) {
        ids.set(u.user.user_id, await insertTiny(h, u.user.user_id, PER_USER));
      }
      const total = PER_USER * users.length;
      const { pool: p } = twoWorkers({ h, run }, {}, fairness);
      const allDone = untilStatus(h, 'completed', total);
      await p.start(tickingContext(h));
      await allDone;

      const started = statusEvents(h, 'in_progress');
      // Every item started exactly once and completed exactly once.
      expect(started.length).toBe(total);
      expect(new Set(started.map((e) => e.data.item_id)).size).toBe(total);
      expect(statusEvents(h, 'completed').length).toBe(total);
      const rows = rowsOf<{ status: string; worker_id: string; n: number }>(
        await h.db.execute(sql`SELECT status, worker_id, count(*)::int AS n FROM session_queue
          GROUP BY status, worker_id ORDER BY worker_id`),
      );
      expect(rows.map((r) => r.status)).toEqual(['completed', 'completed']);
      expect(rows.map((r) => r.worker_id)).toEqual(['n1/0:cpu', 'n1/1:cpu']);
      // Both workers did a real share of the work.
      for (const r of rows) {
        expect(Number(r.n)).toBeGreaterThan(total / 4);
      }

      // The start order, from the claim times (started_at), differs from the queue's order by at most the
      // number of workers claiming at once.
      const order = rowsOf<{ item_id: number; user_id: string }>(
        await h.db.execute(sql`SELECT item_id, user_id FROM session_queue ORDER BY started_at, item_id`),
      );
      if (fairness === 'fifo') {
        order.forEach((r, i) => {
          const place = [...ids.values()]
            .flat()
            .sort((a, b) => a - b)
            .indexOf(Number(r.item_id));
          expect(Math.abs(place - i)).toBeLessThanOrEqual(2);
        });
      } else {
        // Round-robin: at every point, no user is more than eight starts ahead of another. One turn, plus the
        // claims whose snapshot predates another worker's turn update, plus start events of two workers
        // (each with an item in inference and one saving) reaching the log in either order: up to 4 seen on a
        // quiet machine, more when CI's two cores are saturated. An order that ignored the turns (fifo over
        // these inserts) would put one user 100 ahead.
        const counts = new Map(users.map((u) => [u.user.user_id, 0]));
        for (const r of order) {
          counts.set(r.user_id, (counts.get(r.user_id) ?? 0) + 1);
          const values = [...counts.values()];
          expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(8);
        }
        // And each user's own items ran in their order, up to the two workers' claims crossing: a claim takes
        // its time before its statement, so the later of two concurrent claims can carry the earlier time.
        for (const [userId, mine] of ids) {
          const ran = order.filter((r) => r.user_id === userId).map((r) => Number(r.item_id));
          expect(ran.map((id, i) => Math.abs(mine.indexOf(id) - i)).filter((d) => d > 1)).toEqual([]);
          expect([...ran].sort((a, b) => a - b)).toEqual(mine);
        }
      }
      // The registry turns idle just after the last outcome commits (its own statement, after the event):
      // read it until it does, within a second.
      const states = async () =>
        ((await (await h.get('/api/v1/workers', { token: admin.token })).json()) as WorkerRow[]).map((w) => [
          w.worker_id,
          w.state,
        ]);
      const deadline = performance.now() + 1000;
      let seen = await states();
      while (seen.some(([, state]) => state !== 'idle') && performance.now() < deadline) {
        seen = await states();
      }
      expect(seen).toEqual([
        ['n1/0:cpu', 'idle'],
        ['n1/1:cpu', 'idle'],
      ]);
    },
  );

  it('no worker stays idle while items are pending: both run at once, the third waits', async ({
    h,
    users,
    admin,
    run,
  }) => {
    const gate = deferred();
    const reached: number[] = [];
    const bothAtStep1 = deferred();
    const { pool: p } = twoWorkers(
      { h, run },
      {
        beforeStep: (step) => {
          if (step === 1) {
            reached.push(1);
            if (reached.length === 2) {
              bothAtStep1.resolve();
            }
            return gate.promise;
          }
        },
      },
    );
    await p.start(contextFromDeps(h.deps, 'workers', null));
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: users[0]?.token,
      json: { batch: { graph: textToImageGraph({ steps: 2 }), runs: 3 } },
    });
    const [a, b, c] = (await res.json()).item_ids as [number, number, number];
    await bothAtStep1.promise;
    const workers = await (await h.get('/api/v1/workers', { token: admin.token })).json();
    expect(
      workers
        .map((w: { state: string; item_id: number }) => [w.state, w.item_id])
        .sort((x: number[], y: number[]) => (x[1] as number) - (y[1] as number)),
    ).toEqual([
      ['busy', a],
      ['busy', b],
    ]);
    expect((await itemState(h.db, c))?.status).toBe('pending');
    expect(await p.status('default')).toEqual({ is_started: true, is_processing: true });
    const done = untilStatus(h, 'completed', 3);
    gate.resolve();
    await done;
    for (const id of [a, b, c]) {
      expect(statusTrace(h, id)).toEqual(['in_progress', 'completed']);
    }
    expect(run.saved.map((s) => s.itemId).sort((x, y) => x - y)).toEqual([a, b, c]);
  });
});

describe('leases', () => {
  it('a worker that lost its lease mid-run stops and writes nothing: one outcome, one image', async ({
    h,
    users,
    run,
  }) => {
    const atStep1 = deferred();
    const gate = deferred();
    let held = false;
    const runtime = new FakeRuntime({
      beforeStep: (step) => {
        if (step === 1 && !held) {
          held = true;
          atStep1.resolve();
          return gate.promise;
        }
      },
    });
    const p = new WorkerPool({
      db: h.db,
      clock: h.clock,
      logger: h.deps.logger,
      fairness: 'round_robin',
      nodeId: 'n1',
      runtime,
      leaseSeconds: 30,
      pollIntervalMs: 60_000,
      saveImage: async (_ctx, owner, _request, leased) => {
        await leased;
        run.saved.push({ itemId: owner.itemId, workerId: 'n1/0:cpu' });
        return { image_name: `img-${owner.itemId}.png` };
      },
    });
    run.adopt(p);
    const ctx = contextFromDeps(h.deps, 'workers', null);
    await p.start(ctx);
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: users[0]?.token,
      json: { batch: { graph: textToImageGraph({ steps: 3 }), runs: 1 } },
    });
    const [id] = (await res.json()).item_ids as [number];
    await atStep1.promise;
    expect(await itemState(h.db, id)).toMatchObject({
      status: 'in_progress',
      workerId: 'n1/0:cpu',
      interruptions: 0,
    });

    // The worker's database stalls past its lease: another process's sweep re-queues the item, counting one
    // interruption.
    h.clock.advance(30_001);
    expect(await sweepLapsed(ctx, h.deps.logger)).toEqual({ requeued: [id], failed: [] });
    expect(await itemState(h.db, id)).toMatchObject({
      status: 'pending',
      workerId: null,
      device: null,
      leaseExpiresAt: null,
      interruptions: 1,
    });
    // Its next renewal fails: the run is stopped before its next step.
    const again = untilStatus(h, 'completed', 1);
    await p.renewLeases();
    expect(runtime.canceled.size).toBe(1);
    gate.resolve();
    // The item runs again (here on the same worker, claimed afresh) and completes once.
    await again;
    expect(statusTrace(h, id)).toEqual(['in_progress', 'pending', 'in_progress', 'completed']);
    expect(run.saved.map((s) => s.itemId)).toEqual([id]);
    expect(await itemState(h.db, id)).toMatchObject({ status: 'completed', interruptions: 1 });
    // The stopped run published nothing after it lost the lease: between the re-queue and the new claim
    // there is no event of the item.
    const mine = h.events.events.filter((e) => e.data.item_id === id);
    const requeuedAt = mine.findIndex((e) => e.data.status === 'pending');
    const reclaimedAt = mine.findIndex((e, i) => i > requeuedAt && e.data.status === 'in_progress');
    expect(reclaimedAt).toBe(requeuedAt + 1);
    expect(h.events.events.filter((e) => e.name === 'invocation_error')).toEqual([]);
  });

  it('a worker that cannot renew at save time saves no image and records no outcome', async ({
    h,
    users,
    run,
  }) => {
    const beforeSave = deferred();
    const gate = deferred();
    let first = true;
    const runtime = new FakeRuntime();
    const p = new WorkerPool({
      db: h.db,
      clock: h.clock,
      logger: h.deps.logger,
      fairness: 'round_robin',
      nodeId: 'n1',
      runtime,
      pollIntervalMs: 60_000,
      saveImage: async (_ctx, owner, _request, leased) => {
        await leased;
        run.saved.push({ itemId: owner.itemId, workerId: 'n1/0:cpu' });
        return { image_name: `img-${owner.itemId}.png` };
      },
    });
    // Hold the run between its last denoise step and its save: the lease lapses and is swept meanwhile.
    const origRun = runtime.run.bind(runtime);
    runtime.run = async (inv, onProgress) => {
      const out = await origRun(inv, onProgress);
      if (inv.type === 'l2i' && first) {
        first = false;
        beforeSave.resolve();
        await gate.promise;
      }
      return out;
    };
    run.adopt(p);
    const ctx = contextFromDeps(h.deps, 'workers', null);
    await p.start(ctx);
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: users[1]?.token,
      json: { batch: { graph: textToImageGraph({ steps: 2 }), runs: 1 } },
    });
    const [id] = (await res.json()).item_ids as [number];
    await beforeSave.promise;
    h.clock.advance(30_001);
    expect(await sweepLapsed(ctx, h.deps.logger)).toEqual({ requeued: [id], failed: [] });
    const again = untilStatus(h, 'completed', 1);
    gate.resolve();
    await again;
    expect(statusTrace(h, id)).toEqual(['in_progress', 'pending', 'in_progress', 'completed']);
    expect(run.saved.map((s) => s.itemId)).toEqual([id]);
    expect(await itemState(h.db, id)).toMatchObject({ status: 'completed', interruptions: 1 });
  });
});
