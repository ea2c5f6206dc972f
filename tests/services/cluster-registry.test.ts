import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import {
  forgetGoneWorkers,
  heartbeat,
  listWorkers,
  markBusy,
  markIdle,
  registerWorker,
  workerStats,
} from '../../src/worker/registry.ts';
import { databaseTest as test } from '../helpers/fixtures.ts';

const it = test;

const T = (s: number) => new Date(Date.parse('2026-12-01T12:00:00.000Z') + s * 1000);

test.beforeEach(async ({ database }) => {
  await database.db.execute(sql`TRUNCATE workers`);
});

const w1 = { workerId: 'n1/cuda:0', nodeId: 'n1', device: 'cuda:0' };
const w2 = { workerId: 'n2/cpu', nodeId: 'n2', device: 'cpu' };

it('lists workers with their state and item, gone after the lease plus 10 s without a heartbeat', async ({
  database,
}) => {
  await registerWorker(database.db, w1, T(0));
  await registerWorker(database.db, w2, T(0));
  await markBusy(database.db, w1.workerId, 42, T(5));
  expect(await listWorkers(database.db, T(5), 30)).toEqual([
    {
      worker_id: 'n1/cuda:0',
      node_id: 'n1',
      device: 'cuda:0',
      state: 'busy',
      item_id: 42,
      last_seen_at: T(5).toISOString(),
    },
    {
      worker_id: 'n2/cpu',
      node_id: 'n2',
      device: 'cpu',
      state: 'idle',
      item_id: null,
      last_seen_at: T(0).toISOString(),
    },
  ]);
  expect(await heartbeat(database.db, w1.workerId, T(30))).toBe(true);
  // n2 last seen at 0: still listed at 40 s, gone just after.
  expect((await listWorkers(database.db, T(40), 30)).map((w) => w.state)).toEqual(['busy', 'idle']);
  expect((await listWorkers(database.db, T(40.001), 30)).map((w) => w.state)).toEqual(['busy', 'gone']);
  expect((await listWorkers(database.db, T(71), 30)).map((w) => w.state)).toEqual(['gone', 'gone']);
});

it('counts items done and busy time; a lost item is not counted; re-registering starts afresh', async ({
  database,
}) => {
  await registerWorker(database.db, w1, T(0));
  await markBusy(database.db, w1.workerId, 1, T(10));
  await markIdle(database.db, w1.workerId, T(12.5));
  await markBusy(database.db, w1.workerId, 2, T(20));
  await markIdle(database.db, w1.workerId, T(21), false);
  expect(await workerStats(database.db)).toEqual([
    { workerId: 'n1/cuda:0', nodeId: 'n1', device: 'cuda:0', itemsDone: 1, busySeconds: 3.5 },
  ]);
  expect((await listWorkers(database.db, T(21), 30))[0]).toMatchObject({ state: 'idle', item_id: null });
  // Idle twice: nothing more counted.
  await markIdle(database.db, w1.workerId, T(22), false);
  expect((await workerStats(database.db))[0]?.busySeconds).toBe(3.5);
  await registerWorker(database.db, w1, T(100));
  expect((await workerStats(database.db))[0]).toMatchObject({ itemsDone: 0, busySeconds: 0 });
});

it('forgets workers not seen since a time; their heartbeat then asks to register again', async ({
  database,
}) => {
  await registerWorker(database.db, w1, T(0));
  await registerWorker(database.db, w2, T(50));
  expect(await forgetGoneWorkers(database.db, T(10))).toEqual(['n1/cuda:0']);
  expect(await heartbeat(database.db, w1.workerId, T(60))).toBe(false);
  expect(await heartbeat(database.db, w2.workerId, T(60))).toBe(true);
});
