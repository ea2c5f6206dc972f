import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelHub } from '../../src/channels/hub.ts';
import { DatabaseAwayError, isDatabaseUnavailable } from '../../src/core/database-away.ts';
import type { DbOrTx } from '../../src/core/db.ts';
import type { ServerEvent } from '../../src/core/events.ts';
import { createJsonLogger } from '../../src/core/logger.ts';
import { rowsOf } from '../../src/db/rows.ts';
import type { Database } from '../../src/db/types.ts';
import { openTestDatabase } from '../helpers/database.ts';

// While the database is away, a logged hub keeps the events it could not write in memory, in order, up to
// `maxPending`; beyond it, new progress events are dropped (and the drop is logged once they are written),
// every other event is kept (docs/operations.md, "When the database goes away").
describe('a logged hub while the database is away', () => {
  const ctx = { database: undefined as unknown as Database };

  beforeAll(async () => {
    ctx.database = await openTestDatabase();
    await ctx.database.db.execute(sql`INSERT INTO users (user_id, email, display_name, password_hash, is_admin, is_active)
      VALUES ('alice', 'alice@x', 'alice', '!', false, true)`);
  });
  afterAll(() => ctx.database.close());

  const progress = (step: number): ServerEvent => ({
    name: 'invocation_progress',
    queueId: 'default',
    ownerId: 'alice',
    data: { item_id: 1, step, total_steps: 9, image: null },
  });
  const started: ServerEvent = {
    name: 'queue_item_status_changed',
    queueId: 'default',
    ownerId: 'alice',
    data: { item_id: 2, status: 'in_progress' },
  };

  /**
   * A logged hub over the test database, every transaction and statement (the hub's appends run on the
   * session, `executePrepared`) refused, as during a restart, while `gate.away`.
   */
  function gatedHub(maxPending?: number) {
    const gate = { away: true };
    const refused = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    };
    const db = new Proxy(ctx.database.db, {
      get(target, prop, receiver) {
        if (prop === 'transaction' && gate.away) {
          return refused;
        }
        if (prop === 'session' && gate.away) {
          return { prepareQuery: () => ({ execute: refused }) };
        }
        return Reflect.get(target, prop, receiver);
      },
    }) as DbOrTx;
    const logs: Record<string, unknown>[] = [];
    const hub = new ChannelHub({
      clock: { now: () => new Date() },
      logger: createJsonLogger({ level: 'warn', write: (line) => logs.push(JSON.parse(line)) }),
      loadQueueStatus: async () => ({
        pending: 0,
        in_progress: 0,
        completed: 0,
        failed: 0,
        canceled: 0,
        total: 0,
      }),
      log: {
        db,
        notifier: { listen: async () => async () => {}, notify: async () => {} },
        gatherMs: 0,
        maxPending,
        pollIntervalMs: 0,
        pruneIntervalMs: 0,
      },
    });
    return { hub, gate, logs };
  }

  it('keeps at most maxPending events: later progress is dropped, a status change is kept', async () => {
    const { hub, gate, logs } = gatedHub(3);
    try {
      // Step 1 is taken at once by an append that now waits for the database; 2–4 wait behind it (3 in all).
      for (const step of [1, 2, 3, 4, 5]) {
        hub.publish(progress(step));
      }
      hub.publish(started);
      hub.publish(progress(6));
      gate.away = false;
      await hub.appended();
      const rows = rowsOf<{ event: string; step: string | null; status: string | null }>(
        await ctx.database.db.execute(sql`SELECT event, data->>'step' AS step, data->>'status' AS status
          FROM channel_log WHERE user_id = 'alice' ORDER BY id`),
      );
      expect(rows.map((r) => [r.event, r.step ?? r.status])).toEqual([
        ['invocation_progress', '1'],
        ['invocation_progress', '2'],
        ['invocation_progress', '3'],
        ['invocation_progress', '4'],
        ['queue_item_status_changed', 'in_progress'],
      ]);
      expect(logs.map((l) => [l.msg, l.events ?? l.dropped])).toEqual([
        ['database unavailable: channel events wait for it', 1],
        ['channel events written again: progress events dropped while they waited', 2],
      ]);
    } finally {
      await hub.shutdown();
    }
  });

  it('refuses a transaction the events before it wait for, at once, as the database being away', async () => {
    const { hub, gate } = gatedHub();
    try {
      hub.publish(progress(1));
      // A worker's transaction would write this event first: it is refused rather than left waiting
      // silently, so the worker logs that it waits for the database and tries again (whileDatabaseAway).
      const refused = await hub.takePending().catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(DatabaseAwayError);
      expect(isDatabaseUnavailable(refused)).toBe(true);
      gate.away = false;
      await hub.appended();
      const taken = await hub.takePending();
      expect(taken.events).toEqual([]);
      taken.release(true);
    } finally {
      await hub.shutdown();
    }
  });
});
