import { asc, eq } from 'drizzle-orm';
import { expect } from 'vitest';
import { sessionQueue } from '../../src/db/schema/index.ts';
import type { QueueItem } from '../../src/queue/schemas.ts';
import { must } from './common.ts';
import { type Fixtures, harnessTest, NAMED_USERS } from './fixtures.ts';
import type { Harness, TestUser } from './harness.ts';
import { enqueue, Q } from './queue.ts';
import { runCommonAuthTests } from './security.ts';

/**
 * What the queue mutation tests (queue.cancel, queue.retry-delete and queue.admin .test.ts) share: their test
 * API (each file its own harness, Alice, Bob and Admin), the expected event payloads and audit entries.
 */
export const test = harnessTest({}, NAMED_USERS);
export const it = test;

/**
 * Before each test of the calling file: no recorded events or cancels, and the clock a second on, so that
 * every mutation's changed timestamps are visible.
 */
export function freshBeforeEach(): void {
  test.beforeEach(({ h }) => {
    h.events.clear();
    h.workers.canceled.splice(0);
    h.clock.advance(1000);
  });
}

export type Row = typeof sessionQueue.$inferSelect;
export type Status = Row['status'];
export const now = (h: Harness) => h.clock.now().toISOString();

export const allRows = (h: Harness) => h.db.select().from(sessionQueue).orderBy(asc(sessionQueue.itemId));

export function counts(rows: Row[]) {
  const n = (s: Status) => rows.filter((r) => r.status === s).length;
  return {
    pending: n('pending'),
    in_progress: n('in_progress'),
    completed: n('completed'),
    failed: n('failed'),
    canceled: n('canceled'),
    total: rows.length,
  };
}

/** `queue_status` of a `queue_item_status_changed` event over these rows. */
export function queueStatusOf(rows: Row[]) {
  const running = rows
    .filter((r) => r.status === 'in_progress')
    .sort((a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0) || a.itemId - b.itemId);
  return { queue_id: 'default', item_id: running[0]?.itemId ?? null, ...counts(rows) };
}

/** `batch_status` of a `queue_item_status_changed` event: the owner's items of the batch. */
export function batchStatusOf(rows: Row[], batchId: string, userId: string) {
  const mine = rows.filter((r) => r.batchId === batchId && r.userId === userId);
  const first = mine[0];
  return {
    queue_id: 'default',
    batch_id: batchId,
    origin: first?.origin ?? null,
    destination: first?.destination ?? null,
    ...counts(mine),
  };
}

export function statusChanged(item: QueueItem, rows: Row[]) {
  return {
    name: 'queue_item_status_changed',
    queueId: 'default',
    ownerId: item.user_id,
    data: {
      queue_id: 'default',
      item_id: item.item_id,
      batch_id: item.batch_id,
      session_id: item.session_id,
      user_id: item.user_id,
      status: item.status,
      error_type: item.error_type,
      error_message: item.error_message,
      created_at: item.created_at,
      updated_at: item.updated_at,
      started_at: item.started_at,
      completed_at: item.completed_at,
      batch_status: batchStatusOf(rows, must(item.batch_id ?? undefined, 'batch id'), item.user_id),
      queue_status: queueStatusOf(rows),
    },
  };
}

export function canceledEvent(userId: string, ids: number[]) {
  return {
    name: 'queue_items_canceled',
    queueId: 'default',
    ownerId: userId,
    data: { queue_id: 'default', canceled_item_ids: ids, user_id: userId },
  };
}

export async function getItem(
  { h, admin }: Pick<Fixtures, 'h' | 'admin'>,
  id: number,
  token = admin.token,
): Promise<QueueItem> {
  const res = await h.get(`${Q}/i/${id}`, { token });
  expect(res.status).toBe(200);
  return res.json();
}

/** Sets an item's state directly, as the processor would. */
export async function setStatus(h: Harness, itemId: number, status: 'completed' | 'failed' | 'in_progress') {
  const at = h.clock.now();
  await h.db
    .update(sessionQueue)
    .set({
      status,
      startedAt: at,
      completedAt: status === 'in_progress' ? null : at,
      updatedAt: at,
      ...(status === 'failed'
        ? { errorType: 'RuntimeError', errorMessage: 'boom', errorTraceback: 'Traceback …' }
        : {}),
    })
    .where(eq(sessionQueue.itemId, itemId));
}

export interface AuditEntry {
  id: string;
  at: string;
  actor_user_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: Record<string, unknown>;
  request_id: string | null;
}

/** The audit entries (newest first) of `action` written by the request that gave `res`. */
export async function auditOf(
  { h, admin }: Pick<Fixtures, 'h' | 'admin'>,
  res: Response,
  action: string,
): Promise<AuditEntry[]> {
  const r = await h.get(`/api/v1/audit?action=${action}&limit=200`, { token: admin.token });
  expect(r.status).toBe(200);
  const { items } = (await r.json()) as { items: AuditEntry[] };
  return items.filter((e) => e.request_id === res.headers.get('x-request-id'));
}

export function entry(
  h: Harness,
  res: Response,
  actor: TestUser,
  action: string,
  target: [string, string],
  details: Record<string, unknown>,
) {
  return {
    id: expect.any(String),
    at: now(h),
    actor_user_id: actor.user.user_id,
    action,
    target_type: target[0],
    target_id: target[1],
    details,
    request_id: res.headers.get('x-request-id'),
  };
}

/** The shared suite on a route of one queue item of the owner's: another user is 403, an admin reaches it. */
export const itemRoute = (method: 'PUT' | 'DELETE', suffix: string, adminStatus: number) =>
  runCommonAuthTests(test, `${method} /api/v1/queue/{queue_id}/i/{item_id}${suffix}`, {
    otherUser: 'forbidden',
    prepareRequest: async (h, owner) => {
      const id = must((await enqueue(h, owner.token)).item_ids[0], 'item');
      return {
        method,
        path: `${Q}/i/${id}${suffix}`,
        forbiddenDetail: `Queue item ${id} belongs to another user.`,
        adminStatus,
      };
    },
  });
