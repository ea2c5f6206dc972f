import { eq } from 'drizzle-orm';
import { expect } from 'vitest';
import { sessionQueue } from '../../src/db/schema/index.ts';
import type { QueueItem } from '../../src/queue/schemas.ts';
import { claimNext } from '../../src/worker/claim.ts';
import { must } from './common.ts';
import { type Fixtures, harnessTest, NAMED_USERS } from './fixtures.ts';
import { textToImageGraph } from './graphs.ts';
import type { TestUser } from './harness.ts';
import { Q } from './queue.ts';

// The queue of the isolation matrix of API.md section 4 (owner, another user and an admin against every read
// route), shared by queue.isolation-items.test.ts and queue.isolation-counts.test.ts. Their tests only read;
// the queue is built once per file (the `w` fixture), so the counts they expect are exact.

/** The fields API.md section 4 nulls for a viewer who is neither the owner nor an admin. */
export const REDACTED_FIELDS = [
  'batch_id',
  'session_id',
  'field_values',
  'session',
  'workflow',
  'origin',
  'destination',
  'error_type',
  'error_message',
  'error_traceback',
  'retried_from_item_id',
  'user_email',
] as const;

export function hidden(item: QueueItem): QueueItem {
  return {
    ...item,
    batch_id: null,
    session_id: null,
    field_values: null,
    session: null,
    workflow: null,
    origin: null,
    destination: null,
    error_type: null,
    error_message: null,
    error_traceback: null,
    retried_from_item_id: null,
    user_email: null,
    redacted: true,
  };
}

export const PROMPTS = ['alice secret one', 'alice secret two', 'alice secret three'];
export const ZERO = { pending: 0, in_progress: 0, completed: 0, failed: 0, canceled: 0, total: 0 };

/** The queue every test reads (built once, the first time a test asks for it), and the file's users. */
export interface World extends Pick<Fixtures, 'alice' | 'bob' | 'admin'> {
  /** Alice's items: a1 in progress (claimed), a2 failed with every field set, a3 pending. Bob's b1 completed. */
  ids: { a1: number; a2: number; a3: number; b1: number };
  aliceBatch: string;
  bobBatch: string;
  /** Each item as its owner and admins see it. */
  full: Record<'a1' | 'a2' | 'a3' | 'b1', QueueItem>;
}

export const test = harnessTest({}, NAMED_USERS).extend(
  'w',
  { scope: 'file' },
  async ({ h, alice, bob, admin }): Promise<World> => {
    const ids = { a1: 0, a2: 0, a3: 0, b1: 0 };
    /** Each item as its owner and admins see it. */
    const full: Record<'a1' | 'a2' | 'a3' | 'b1', QueueItem> = {} as Record<
      'a1' | 'a2' | 'a3' | 'b1',
      QueueItem
    >;

    const t0 = h.clock.now().toISOString();
    const resA = await h.post(`${Q}/enqueue_batch`, {
      token: alice.token,
      json: {
        batch: {
          graph: textToImageGraph({ prompt: 'placeholder' }),
          workflow: { name: 'alice workflow' },
          data: [[{ node_path: 'positive', field_name: 'prompt', items: PROMPTS }]],
          origin: 'alice-origin',
          destination: 'alice-gallery',
        },
      },
    });
    expect(resA.status).toBe(201);
    const bodyA = await resA.json();
    const aliceBatch = bodyA.batch.batch_id;
    [ids.a1, ids.a2, ids.a3] = bodyA.item_ids;

    const resB = await h.post(`${Q}/enqueue_batch`, {
      token: bob.token,
      json: {
        batch: {
          graph: textToImageGraph({ prompt: 'bob secret' }),
          workflow: { name: 'bob workflow' },
          origin: 'bob-origin',
          destination: 'bob-gallery',
        },
      },
    });
    expect(resB.status).toBe(201);
    const bodyB = await resB.json();
    const bobBatch = bodyB.batch.batch_id;
    [ids.b1] = bodyB.item_ids;

    h.clock.advance(60_000);
    const t1Date = h.clock.now();
    const t1 = t1Date.toISOString();
    await h.db
      .update(sessionQueue)
      .set({ status: 'completed', startedAt: t1Date, completedAt: t1Date, updatedAt: t1Date })
      .where(eq(sessionQueue.itemId, ids.b1));
    const claimed = await claimNext(h.db, {
      queueId: 'default',
      fairness: 'round_robin',
      workerId: 'test/0:cpu',
      device: 'cpu',
      now: t1Date,
    });
    expect(claimed?.itemId).toBe(ids.a1);
    await h.db
      .update(sessionQueue)
      .set({
        status: 'failed',
        startedAt: t1Date,
        completedAt: t1Date,
        updatedAt: t1Date,
        errorType: 'RuntimeError',
        errorMessage: 'alice secret error',
        errorTraceback: 'Traceback (most recent call last):\n  alice secret frame',
        // As if a2 were the retry of a1: every redactable field of a2 holds a value.
        retriedFromItemId: ids.a1,
      })
      .where(eq(sessionQueue.itemId, ids.a2));

    const sessionIds = new Map(
      (
        await h.db
          .select({ itemId: sessionQueue.itemId, sessionId: sessionQueue.sessionId })
          .from(sessionQueue)
      ).map((r) => [r.itemId, r.sessionId]),
    );
    const aliceItem = (id: number, i: number): QueueItem => {
      const sessionId = must(sessionIds.get(id), 'session id');
      return {
        item_id: id,
        queue_id: 'default',
        batch_id: aliceBatch,
        session_id: sessionId,
        status: 'pending',
        priority: 0,
        origin: 'alice-origin',
        destination: 'alice-gallery',
        field_values: [{ node_path: 'positive', field_name: 'prompt', value: PROMPTS[i] }],
        session: { id: sessionId, graph: textToImageGraph({ prompt: PROMPTS[i] }) },
        workflow: { name: 'alice workflow' },
        error_type: null,
        error_message: null,
        error_traceback: null,
        created_at: t0,
        updated_at: t0,
        started_at: null,
        completed_at: null,
        retried_from_item_id: null,
        worker_id: null,
        device: null,
        user_id: alice.user.user_id,
        user_display_name: 'Alice',
        user_email: alice.user.email,
        redacted: false,
      };
    };
    full.a1 = {
      ...aliceItem(ids.a1, 0),
      status: 'in_progress',
      updated_at: t1,
      started_at: t1,
      // Who runs an item is shown to everyone, like its status (API.md section 8).
      worker_id: 'test/0:cpu',
      device: 'cpu',
    };
    full.a2 = {
      ...aliceItem(ids.a2, 1),
      status: 'failed',
      error_type: 'RuntimeError',
      error_message: 'alice secret error',
      error_traceback: 'Traceback (most recent call last):\n  alice secret frame',
      updated_at: t1,
      started_at: t1,
      completed_at: t1,
      retried_from_item_id: ids.a1,
    };
    full.a3 = aliceItem(ids.a3, 2);
    const b1Session = must(sessionIds.get(ids.b1), 'session id');
    full.b1 = {
      item_id: ids.b1,
      queue_id: 'default',
      batch_id: bobBatch,
      session_id: b1Session,
      status: 'completed',
      priority: 0,
      origin: 'bob-origin',
      destination: 'bob-gallery',
      field_values: null,
      session: { id: b1Session, graph: textToImageGraph({ prompt: 'bob secret' }) },
      workflow: { name: 'bob workflow' },
      error_type: null,
      error_message: null,
      error_traceback: null,
      created_at: t0,
      updated_at: t1,
      started_at: t1,
      completed_at: t1,
      retried_from_item_id: null,
      worker_id: null,
      device: null,
      user_id: bob.user.user_id,
      user_display_name: 'Bob',
      user_email: bob.user.email,
      redacted: false,
    };
    return { ids, aliceBatch, bobBatch, full, alice, bob, admin };
  },
);
export const it = test;

export type Who = 'alice' | 'bob' | 'admin';
export const viewer = (w: World, who: Who): TestUser => w[who];
/** An item as `who` must see it: whole for its owner and admins, redacted for anyone else. */
export function seen(w: World, who: Who, key: keyof World['ids']): QueueItem {
  const item = w.full[key];
  const v = viewer(w, who);
  return v.user.is_admin || v.user.user_id === item.user_id ? item : hidden(item);
}
export const ALL = ['a1', 'a2', 'a3', 'b1'] as const;
export const mine = (w: World, who: Who) =>
  ALL.filter((k) => w.full[k].user_id === viewer(w, who).user.user_id);
