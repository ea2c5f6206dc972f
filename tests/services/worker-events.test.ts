import { sql } from 'drizzle-orm';
import { expect, it, type TestContext } from 'vitest';
import type { Logger } from '../../src/core/logger.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { contextFromDeps } from '../../src/deps.ts';
import { FakeRuntime } from '../../src/runtime/fake-runtime.ts';
import { WorkerPool } from '../../src/worker/pool.ts';
import { deferred, insertItems, itemState } from '../helpers/cluster.ts';
import { testDriver } from '../helpers/database.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';

// API.md section 8: every channel event is written to the log in the transaction of the change it reports.
// A claim whose event cannot be written does not happen: no item runs without its `in_progress` event.
it('a claim commits with its event: when the log refuses the event, the item stays pending and runs later', async (t) => {
  const h = await createHarness(t, { channelLog: true });
  await h.db.execute(sql`ALTER TABLE channel_log ADD CONSTRAINT refuse_in_progress
    CHECK (NOT (event = 'queue_item_status_changed' AND data->>'status' = 'in_progress'))`);
  const itemId = await insertValueItem(h);
  const stepFailed = deferred();
  const statuses: string[] = [];
  const done = deferred();
  const stop = h.channels.observe((e) => {
    if (e.name === 'queue_item_status_changed' && e.data.item_id === itemId) {
      statuses.push(String(e.data.status));
      if (e.data.status === 'completed') {
        done.resolve();
      }
    }
  });
  t.onTestFinished(stop);
  const log = h.deps.logger;
  const pool = await startPool(t, h, {
    ...log,
    error: (msg, fields) => {
      log.error(msg, fields);
      stepFailed.resolve();
    },
  });
  await stepFailed.promise;
  expect(await itemState(h.db, itemId)).toEqual({
    status: 'pending',
    workerId: null,
    device: null,
    leaseExpiresAt: null,
    interruptions: 0,
    errorType: null,
  });
  expect(statuses).toEqual([]);

  await h.db.execute(sql`ALTER TABLE channel_log DROP CONSTRAINT refuse_in_progress`);
  pool.wake();
  await done.promise;
  expect(statuses).toEqual(['in_progress', 'completed']);
  expect((await itemState(h.db, itemId))?.status).toBe('completed');
});

// PostgreSQL: a renewal can wait on the item's row while the outcome's transaction holds it.
it.runIf(testDriver() === 'postgres')(
  'a renewal that meets the outcome being written is not a lost lease: no warning, the item completes',
  async (t) => {
    const h = await createHarness(t, { channelLog: true });
    const itemId = await insertValueItem(h);
    // The outcome's transaction stops before its commit, its row updated (and locked), until released.
    const finishing = deferred();
    const release = deferred();
    const appendIn = h.channels.appendIn.bind(h.channels);
    h.channels.appendIn = async (db, events) => {
      if (events.some((e) => e.name === 'queue_item_status_changed' && e.data.status === 'completed')) {
        finishing.resolve();
        await release.promise;
      }
      return appendIn(db, events);
    };
    const warnings: string[] = [];
    const log = h.deps.logger;
    const pool = await startPool(t, h, {
      ...log,
      warn: (msg, fields) => {
        warnings.push(msg);
        log.warn(msg, fields);
      },
    });
    await finishing.promise;
    const renewing = pool.renewLeases();
    // The renewal waits on the row the outcome holds.
    await expect
      .poll(async () =>
        rowsOf<{ n: number }>(
          await h.db.execute(
            sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
          ),
        ),
      )
      .toEqual([{ n: 1 }]);
    release.resolve();
    await renewing;
    await expect.poll(async () => (await itemState(h.db, itemId))?.status).toBe('completed');
    expect(warnings).toEqual([]);
  },
);

// A tab can hear an item's outcome, through another process's log tail, before this process has let go of the
// item: from the moment that outcome is written, `processor.is_processing` no longer counts the item.
it('the item whose outcome is being written no longer counts as processing', async (t) => {
  const h = await createHarness(t, { channelLog: true });
  const itemId = await insertValueItem(h);
  const seen: [string, boolean][] = [];
  const done = deferred();
  let pool: WorkerPool | undefined;
  const processing = () => (pool as unknown as { isProcessing(): boolean }).isProcessing();
  const appendIn = h.channels.appendIn.bind(h.channels);
  h.channels.appendIn = async (db, events) => {
    for (const e of events) {
      if (e.name === 'queue_item_status_changed' && e.data.item_id === itemId) {
        seen.push([String(e.data.status), processing()]);
        if (e.data.status === 'completed') {
          done.resolve();
        }
      }
    }
    return appendIn(db, events);
  };
  pool = await startPool(t, h, h.deps.logger);
  await done.promise;
  expect(seen).toEqual([
    ['in_progress', false],
    ['completed', false],
  ]);
});

/** One fifo worker on a fake runtime over the harness's database, started, closed when the test ends. */
async function startPool(
  t: Pick<TestContext, 'onTestFinished'>,
  h: Harness,
  logger: Logger,
): Promise<WorkerPool> {
  const pool = new WorkerPool({
    db: h.db,
    clock: h.clock,
    logger,
    fairness: 'fifo',
    nodeId: 'n1',
    workers: [{ device: 'cpu', runtime: new FakeRuntime() }],
    pollIntervalMs: 60_000,
    saveImage: async (_ctx, _owner, _request, leased) => {
      await leased;
      return { image_name: 'x.png' };
    },
  });
  t.onTestFinished(() => pool.close());
  await pool.start(contextFromDeps(h.deps, 'workers', null));
  return pool;
}

/** A pending item of a new user whose graph is one value node (no runtime call); returns its id. */
async function insertValueItem(h: Harness): Promise<number> {
  const user = await h.createUser();
  const [itemId] = await insertItems(h.db, user.user.user_id, 1);
  await h.db.execute(
    sql`UPDATE session_queue SET session = ${JSON.stringify({
      graph: { id: 'g', nodes: { v: { id: 'v', type: 'integer', value: 1 } }, edges: [] },
    })}::jsonb WHERE item_id = ${itemId as number}`,
  );
  return itemId as number;
}
