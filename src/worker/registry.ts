import { asc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../core/db.ts';
import type { WorkerStats, WorkerView } from '../core/workers.ts';
import { workers } from '../db/schema/index.ts';
import { DEFAULT_LEASE_SECONDS } from './claim.ts';

/** A worker not seen for its lease plus this long is listed as `gone` (API.md section 8). */
export const GONE_MARGIN_SECONDS = 10;

export type { WorkerStats, WorkerView };

export interface WorkerIdentity {
  workerId: string;
  nodeId: string;
  device: string;
}

/**
 * Adds the worker (or starts it afresh after a restart with the same id): idle, no item, counters at zero.
 * @example await registerWorker(db, { workerId: `${nodeId}/cpu`, nodeId, device: 'cpu' }, clock.now());
 */
export async function registerWorker(db: DbOrTx, id: WorkerIdentity, now: Date): Promise<void> {
  const row = {
    workerId: id.workerId,
    nodeId: id.nodeId,
    device: id.device,
    state: 'idle' as const,
    itemId: null,
    startedAt: now,
    lastSeenAt: now,
    busySince: null,
    itemsDone: 0,
    busyMs: 0,
  };
  const { workerId: _, ...update } = row;
  await db.insert(workers).values(row).onConflictDoUpdate({ target: workers.workerId, set: update });
}

/**
 * Records that the worker is alive. Returns false when its row is gone (removed by `forgetGoneWorkers`): the
 * caller registers again.
 */
export async function heartbeat(db: DbOrTx, workerId: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(workers)
    .set({ lastSeenAt: now })
    .where(eq(workers.workerId, workerId))
    .returning({ workerId: workers.workerId });
  return rows.length === 1;
}

/**
 * The worker started `itemId` (after its claim). A worker already busy (its previous item still saving)
 * keeps its busy time running.
 */
export async function markBusy(db: DbOrTx, workerId: string, itemId: number, now: Date): Promise<void> {
  await db
    .update(workers)
    .set({
      state: 'busy',
      itemId,
      busySince: sql`COALESCE(${workers.busySince}, ${now.toISOString()}::timestamptz)`,
      lastSeenAt: now,
    })
    .where(eq(workers.workerId, workerId));
}

/** One of the worker's items ended while it runs another: counted, still busy. */
export async function countItemDone(db: DbOrTx, workerId: string, now: Date, counted = true): Promise<void> {
  await db
    .update(workers)
    .set({ lastSeenAt: now, itemsDone: sql`${workers.itemsDone} + ${counted ? 1 : 0}` })
    .where(eq(workers.workerId, workerId));
}

/**
 * The worker's item ended: back to idle, the busy time since `markBusy` added to `busy_ms`, and the item
 * counted in `items_done` unless `counted` is false (a lost lease: the item was not done by this worker).
 */
export async function markIdle(db: DbOrTx, workerId: string, now: Date, counted = true): Promise<void> {
  const at = now.toISOString();
  await db
    .update(workers)
    .set({
      state: 'idle',
      itemId: null,
      busySince: null,
      lastSeenAt: now,
      itemsDone: sql`${workers.itemsDone} + ${counted ? 1 : 0}`,
      busyMs: sql`${workers.busyMs} + CASE WHEN ${workers.busySince} IS NULL THEN 0
        ELSE GREATEST(0, floor(extract(epoch FROM (${at}::timestamptz - ${workers.busySince})) * 1000))::bigint END`,
    })
    .where(eq(workers.workerId, workerId));
}

const goneBefore = (now: Date, leaseSeconds: number) =>
  new Date(now.getTime() - (leaseSeconds + GONE_MARGIN_SECONDS) * 1000);

/**
 * Every worker of every process for `GET /api/v1/workers`, by worker id: `gone` when not seen for longer
 * than the lease plus 10 s.
 * @example c.json(await listWorkers(db, clock.now(), config.leaseSeconds));
 */
export async function listWorkers(
  db: DbOrTx,
  now: Date,
  leaseSeconds = DEFAULT_LEASE_SECONDS,
): Promise<WorkerView[]> {
  const rows = await db.select().from(workers).orderBy(asc(workers.workerId));
  const cutoff = goneBefore(now, leaseSeconds).getTime();
  return rows.map((r) => ({
    worker_id: r.workerId,
    node_id: r.nodeId,
    device: r.device,
    state: r.lastSeenAt.getTime() < cutoff ? 'gone' : r.state,
    item_id: r.itemId,
    last_seen_at: r.lastSeenAt.toISOString(),
  }));
}

/** Items done and seconds busy per worker, for `/metrics` (the current item's time counts once it ends). */
export async function workerStats(db: DbOrTx): Promise<WorkerStats[]> {
  const rows = await db.select().from(workers).orderBy(asc(workers.workerId));
  return rows.map((r) => ({
    workerId: r.workerId,
    nodeId: r.nodeId,
    device: r.device,
    itemsDone: r.itemsDone,
    busySeconds: r.busyMs / 1000,
  }));
}

/** Removes workers not seen since `before` (housekeeping; a gone worker stays listed until then). */
export async function forgetGoneWorkers(db: DbOrTx, before: Date): Promise<string[]> {
  const rows = await db
    .delete(workers)
    .where(sql`${workers.lastSeenAt} < ${before.toISOString()}::timestamptz`)
    .returning({ workerId: workers.workerId });
  return rows.map((r) => r.workerId).sort();
}
