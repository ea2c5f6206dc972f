import { asc, eq, sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { auditLog, queueUserTurns, sessionQueue } from '../../src/db/schema/index.ts';
import { claimNext } from '../../src/worker/claim.ts';
import { harnessTest, NAMED_USERS } from './fixtures.ts';
import { textToImageGraph } from './graphs.ts';
import type { Harness } from './harness.ts';
import { enqueue } from './queue.ts';

export interface Items {
  aP: number;
  aR: number;
  aF: number;
  bP: number;
  bF: number;
  aBatch: string;
  bBatch: string;
}

/**
 * The test API of queue.refused.test.ts and queue.bulk.test.ts (each file its own harness and items) with `f`,
 * the file's items: Alice's aP pending, aR in progress, aF failed (batch aBatch); Bob's bP pending, bF failed
 * (batch bBatch).
 */
export const test = harnessTest({}, NAMED_USERS).extend(
  'f',
  { scope: 'file' },
  async ({ h, alice, bob }): Promise<Items> => {
    const a = await enqueue(h, alice.token, { runs: 3 });
    const claimed = await claimNext(h.db, {
      queueId: 'default',
      fairness: 'round_robin',
      workerId: 'test/0:cpu',
      device: 'cpu',
      now: h.clock.now(),
    });
    const [aR, aP, aF] = a.item_ids as [number, number, number];
    expect(claimed?.itemId).toBe(aR);
    await setStatus(h, aF, 'failed');
    const b = await enqueue(h, bob.token, { runs: 2 });
    const [bP, bF] = b.item_ids as [number, number];
    await setStatus(h, bF, 'failed');
    h.clock.advance(1000);
    return { aP, aR, aF, bP, bF, aBatch: a.batch.batch_id, bBatch: b.batch.batch_id };
  },
);
export const it = test;

/** Every queue row, the round-robin turns and the audit log size: what "nothing changed" compares. */
export async function snapshot(h: Harness) {
  const rows = await h.db.select().from(sessionQueue).orderBy(asc(sessionQueue.itemId));
  const turns = await h.db
    .select()
    .from(queueUserTurns)
    .orderBy(asc(queueUserTurns.queueId), asc(queueUserTurns.userId));
  const [audit] = await h.db.select({ n: sql<number>`count(*)::int` }).from(auditLog);
  return { rows, turns, audit: audit?.n, wakes: h.workers.wakes };
}

/** The database is as it was, no event went out and the processor was told nothing. */
export async function expectNothingChanged(h: Harness, before: Awaited<ReturnType<typeof snapshot>>) {
  expect(await snapshot(h)).toEqual(before);
  expect(h.events.events).toEqual([]);
  expect(h.workers.canceled).toEqual([]);
}

export async function setStatus(
  h: Harness,
  itemId: number,
  status: 'completed' | 'failed' | 'canceled' | 'in_progress',
) {
  const now = h.clock.now();
  await h.db
    .update(sessionQueue)
    .set({
      status,
      startedAt: status === 'canceled' ? null : now,
      completedAt: status === 'in_progress' ? null : now,
      updatedAt: now,
      ...(status === 'failed' ? { errorType: 'RuntimeError', errorMessage: 'boom' } : {}),
    })
    .where(eq(sessionQueue.itemId, itemId));
}

export const UNKNOWN = 999999;
export const enqueueBody = { batch: { graph: textToImageGraph() } };
