import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { Sql } from 'postgres';
import { describe, expect, vi } from 'vitest';
import {
  appendEvents,
  CHANNEL_NOTIFY,
  type ChannelNotice,
  channelHead,
  eventIdOf,
  type LoggedEvent,
  MAX_NOTIFY_BYTES,
  noticePayloads,
  parseEventId,
  prune,
  readAfter,
} from '../../src/channels/channel-log.ts';
import { LogTailer } from '../../src/channels/log-tail.ts';
import type { ServerEvent } from '../../src/core/events.ts';
import type { Notifier } from '../../src/core/notifier.ts';
import { pgliteNotifier } from '../../src/db/pglite-notify.ts';
import { rowsOf } from '../../src/db/rows.ts';
import type { Database } from '../../src/db/types.ts';
import { postgresNotifier } from '../../src/node/pg-notify.ts';
import { deferred } from '../helpers/cluster.ts';
import { testDriver } from '../helpers/database.ts';
import { databaseTest } from '../helpers/fixtures.ts';

/** The file's database, and `notifier`, the notifier of its driver over its client. */
const test = databaseTest.extend('notifier', { scope: 'file' }, ({ database }): Notifier => {
  const client = (database.db as unknown as { $client: unknown }).$client;
  return database.driver === 'pglite' ? pgliteNotifier(client as PGlite) : postgresNotifier(client as Sql);
});
const it = test;

const T = (s: number) => new Date(Date.parse('2026-12-01T12:00:00.000Z') + s * 1000);

test.beforeEach(async ({ database }) => {
  await database.db.execute(sql`TRUNCATE channel_log, channel_heads`);
  await database.db.execute(sql`DELETE FROM users WHERE user_id <> 'system'`);
  for (const [id, admin, active] of [
    ['alice', false, true],
    ['bob', false, true],
    ['root', true, true],
    ['zadmin', true, true],
    ['exadmin', true, false],
  ] as const) {
    await database.db.execute(sql`INSERT INTO users (user_id, email, display_name, password_hash, is_admin, is_active)
      VALUES (${id}, ${`${id}@x`}, ${id}, '!', ${admin}, ${active})`);
  }
});

const owned = (ownerId: string, n: number, extra: Record<string, unknown> = {}): ServerEvent => ({
  name: 'queue_item_status_changed',
  queueId: 'default',
  ownerId,
  data: { item_id: n, ...extra },
});

const append = (database: Database, events: ServerEvent[], at = T(0)) =>
  database.db.transaction((tx) => appendEvents(tx, events, at));

/** "channel:id:item" for each row of the log, in channel then id order. */
async function logRows(database: Database) {
  return rowsOf<{ user_id: string; id: number; item: number | null; owner: string | null }>(
    await database.db.execute(sql`SELECT user_id, id, (data->>'item_id')::int AS item, owner FROM channel_log
      ORDER BY user_id, id`),
  ).map((r) => `${r.user_id}:${r.id}:${r.item}:${r.owner}`);
}

describe('appendEvents', () => {
  it('writes each event to its owner and each active admin, with gapless ids per channel', async ({
    database,
  }) => {
    expect(await append(database, [owned('alice', 1), owned('root', 2)])).toEqual([
      [
        { userId: 'alice', id: 1 },
        { userId: 'root', id: 1 },
        { userId: 'zadmin', id: 1 },
      ],
      [
        { userId: 'root', id: 2 },
        { userId: 'zadmin', id: 2 },
      ],
    ]);
    await append(database, [owned('alice', 3)]);
    expect(await logRows(database)).toEqual([
      'alice:1:1:alice',
      'alice:2:3:alice',
      'root:1:1:alice',
      'root:2:2:root',
      'root:3:3:alice',
      'zadmin:1:1:alice',
      'zadmin:2:2:root',
      'zadmin:3:3:alice',
    ]);
    expect(await channelHead(database.db, 'root')).toBe(3);
    expect(await channelHead(database.db, 'bob')).toBe(0);
  });

  it('writes a queue-wide event to every active user and the anonymous channel', async ({ database }) => {
    const [ids] = await append(database, [
      { name: 'queue_cleared', queueId: 'default', ownerId: null, data: {} },
    ]);
    expect(ids?.map((x) => x.userId)).toEqual(['alice', 'bob', 'root', 'system', 'zadmin', 'anonymous']);
  });

  it('a rolled-back append leaves no row and no id used', async ({ database }) => {
    await expect(
      database.db.transaction(async (tx) => {
        await appendEvents(tx, [owned('alice', 1)], T(0));
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await logRows(database)).toEqual([]);
    expect((await append(database, [owned('alice', 2)]))[0]?.[0]).toEqual({ userId: 'alice', id: 1 });
  });

  it('stores previews as image: null and announces them in the commit’s notification', async ({
    database,
    notifier,
  }) => {
    const got = deferred<ChannelNotice>();
    const stop = await notifier.listen(CHANNEL_NOTIFY, (p) => got.resolve(JSON.parse(p) as ChannelNotice));
    const image = { dataURL: 'data:image/jpeg;base64,AAAA', width: 8, height: 8 };
    await append(database, [
      { name: 'invocation_progress', queueId: 'default', ownerId: 'bob', data: { step: 1, image } },
    ]);
    expect(await got.promise).toEqual({
      c: [
        ['bob', 1],
        ['root', 1],
        ['zadmin', 1],
      ],
      p: [
        {
          at: [
            ['bob', 1],
            ['root', 1],
            ['zadmin', 1],
          ],
          image,
        },
      ],
    });
    await stop();
    const { events } = await readAfter(database.db, 'bob', 0, 10);
    expect(events.map((e) => e.data)).toEqual([{ step: 1, image: null }]);
  });

  it('announces a commit without previews with each channel written and its new head, in one notification', async ({
    database,
    notifier,
  }) => {
    await append(database, [owned('alice', 1)]);
    const got: ChannelNotice[] = [];
    const two = deferred<void>();
    const stop = await notifier.listen(CHANNEL_NOTIFY, (p) => {
      got.push(JSON.parse(p) as ChannelNotice);
      if (got.length === 2) {
        two.resolve();
      }
    });
    await append(database, [owned('alice', 2), owned('alice', 3)]);
    await append(database, [owned('bob', 4)]);
    await two.promise;
    await stop();
    const sorted = (n: ChannelNotice | undefined) => [...(n?.c ?? [])].sort(([a], [b]) => (a < b ? -1 : 1));
    expect(got.map(sorted)).toEqual([
      [
        ['alice', 3],
        ['root', 3],
        ['zadmin', 3],
      ],
      [
        ['bob', 1],
        ['root', 4],
        ['zadmin', 4],
      ],
    ]);
  });

  it.for(['in a transaction', 'on its own'])(
    'splits the notification of a fan-out too large for one payload, every channel in one of them (%s)',
    async (mode, { database, notifier }) => {
      await database.db.execute(sql`INSERT INTO users (user_id, email, display_name, password_hash)
      SELECT 'user-with-a-long-id-' || lpad(i::text, 20, '0'), i || '@y', 'u', '!' FROM generate_series(1, 300) i`);
      const heads = new Map<string, number>();
      const sizes: number[] = [];
      const stop = await notifier.listen(CHANNEL_NOTIFY, (p) => {
        sizes.push(new TextEncoder().encode(p).length);
        for (const [u, id] of (JSON.parse(p) as ChannelNotice).c) {
          heads.set(u, id);
        }
      });
      const cleared: ServerEvent[] = [{ name: 'queue_cleared', queueId: 'default', ownerId: null, data: {} }];
      const [ids] =
        mode === 'on its own'
          ? await appendEvents(database.db, cleared, T(0))
          : await append(database, cleared);
      await vi.waitFor(() => expect(heads.size).toBe(ids?.length));
      await stop();
      expect(ids?.every((x) => heads.get(x.userId) === x.id)).toBe(true);
      expect(sizes.length).toBeGreaterThan(1);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_NOTIFY_BYTES);
    },
  );
});

describe("appendEvents on its own (no transaction: the hub's batches)", () => {
  it('commits at once and announces previews in the same statement', async ({ database, notifier }) => {
    const got = deferred<ChannelNotice>();
    const stop = await notifier.listen(CHANNEL_NOTIFY, (p) => got.resolve(JSON.parse(p) as ChannelNotice));
    const image = { dataURL: 'data:image/jpeg;base64,BBBB', width: 8, height: 8 };
    const ids = await appendEvents(
      database.db,
      [
        owned('alice', 1),
        { name: 'invocation_progress', queueId: 'default', ownerId: 'alice', data: { image } },
      ],
      T(0),
    );
    expect(ids).toEqual([
      [
        { userId: 'alice', id: 1 },
        { userId: 'root', id: 1 },
        { userId: 'zadmin', id: 1 },
      ],
      [
        { userId: 'alice', id: 2 },
        { userId: 'root', id: 2 },
        { userId: 'zadmin', id: 2 },
      ],
    ]);
    expect(await got.promise).toEqual({
      c: [
        ['alice', 2],
        ['root', 2],
        ['zadmin', 2],
      ],
      p: [
        {
          at: [
            ['alice', 2],
            ['root', 2],
            ['zadmin', 2],
          ],
          image,
        },
      ],
    });
    await stop();
    expect(await logRows(database)).toEqual([
      'alice:1:1:alice',
      'alice:2:null:alice',
      'root:1:1:alice',
      'root:2:null:alice',
      'zadmin:1:1:alice',
      'zadmin:2:null:alice',
    ]);
  });

  it('leaves out the progress of an item canceled by the time it is written; announces nothing when nothing is left', async ({
    database,
    notifier,
  }) => {
    const [canceled, running] = rowsOf<{ item_id: number }>(
      await database.db.execute(sql`INSERT INTO session_queue (queue_id, batch_id, session_id, status, session,
          created_at, updated_at, user_id)
        VALUES ('default', 'b', 's1', 'canceled', '{}', now(), now(), 'alice'),
          ('default', 'b', 's2', 'in_progress', '{}', now(), now(), 'alice')
        RETURNING item_id`),
    ).map((r) => r.item_id);
    const progress = (itemId: number | undefined): ServerEvent => ({
      name: 'invocation_progress',
      queueId: 'default',
      ownerId: 'alice',
      data: { item_id: itemId, step: 1 },
    });
    const notices: ChannelNotice[] = [];
    const stop = await notifier.listen(CHANNEL_NOTIFY, (p) => notices.push(JSON.parse(p) as ChannelNotice));
    expect(await appendEvents(database.db, [progress(canceled)], T(0))).toEqual([[]]);
    expect(await appendEvents(database.db, [progress(canceled), progress(running)], T(0))).toEqual([
      [],
      [
        { userId: 'alice', id: 1 },
        { userId: 'root', id: 1 },
        { userId: 'zadmin', id: 1 },
      ],
    ]);
    await vi.waitFor(() => expect(notices).toHaveLength(1));
    await stop();
    // The first append wrote nothing and sent nothing; the second announced only the running item's step.
    expect(notices).toEqual([
      {
        c: [
          ['alice', 1],
          ['root', 1],
          ['zadmin', 1],
        ],
      },
    ]);
    expect(await logRows(database)).toEqual([
      `alice:1:${running}:alice`,
      `root:1:${running}:alice`,
      `zadmin:1:${running}:alice`,
    ]);
  });

  it('announces the heads without the previews when they do not fit in one payload', async ({
    database,
    notifier,
  }) => {
    const got = deferred<string>();
    const stop = await notifier.listen(CHANNEL_NOTIFY, (p) => got.resolve(p));
    const big = { dataURL: `data:image/jpeg;base64,${'A'.repeat(MAX_NOTIFY_BYTES)}`, width: 8, height: 8 };
    await appendEvents(
      database.db,
      [{ name: 'invocation_progress', queueId: 'default', ownerId: 'bob', data: { step: 1, image: big } }],
      T(0),
    );
    expect(JSON.parse(await got.promise)).toEqual({
      c: [
        ['bob', 1],
        ['root', 1],
        ['zadmin', 1],
      ],
    });
    await stop();
    const { events } = await readAfter(database.db, 'bob', 0, 10);
    expect(events.map((e) => e.data)).toEqual([{ step: 1, image: null }]);
  });
});

describe('noticePayloads', () => {
  it('drops previews that do not fit and splits a large fan-out, every payload under the limit', () => {
    const big = { dataURL: `data:image/jpeg;base64,${'A'.repeat(9000)}`, width: 512, height: 512 };
    expect(noticePayloads([['u', 5]], [{ at: [['u', 5]], image: big }])).toEqual(['{"c":[["u",5]]}']);
    const heads = Array.from({ length: 1000 }, (_, i): [string, number] => [`user-${i}`, i + 1]);
    const payloads = noticePayloads(heads, []);
    expect(payloads.length).toBeGreaterThan(1);
    for (const p of payloads) {
      expect(new TextEncoder().encode(p).length).toBeLessThanOrEqual(MAX_NOTIFY_BYTES);
    }
    expect(payloads.flatMap((p) => (JSON.parse(p) as ChannelNotice).c)).toEqual(heads);
  });
});

describe('event ids', () => {
  it('are the same for a channel everywhere, and foreign in another channel', () => {
    expect(eventIdOf('alice', 42)).toBe(eventIdOf('alice', 42));
    expect(eventIdOf('alice', 42)).toMatch(/^[0-9a-f]{8}-42$/);
    expect(parseEventId('alice', eventIdOf('alice', 42))).toBe(42);
    expect(parseEventId('bob', eventIdOf('alice', 42))).toBeUndefined();
    expect(parseEventId('alice', '42')).toBeUndefined();
    expect(parseEventId('alice', `${eventIdOf('alice', 1)}x`)).toBeUndefined();
  });
});

describe('readAfter and prune', () => {
  it('replays after an id the channel holds; refuses ids it does not hold; leaves copies out for non-admins', async ({
    database,
  }) => {
    await append(database, [owned('alice', 1), owned('root', 2), owned('bob', 3)]);
    const r = await readAfter(database.db, 'root', 1, 10);
    expect([r.held, r.more, r.lastId, r.events.map((e) => [e.id, e.owner, e.data.item_id])]).toEqual([
      true,
      false,
      3,
      [
        [2, 'root', 2],
        [3, 'bob', 3],
      ],
    ]);
    expect((await readAfter(database.db, 'root', 3, 10)).events).toEqual([]);
    expect((await readAfter(database.db, 'root', 4, 10)).held).toBe(false);
    expect((await readAfter(database.db, 'root', Number.NaN, 10)).held).toBe(false);
    const limited = await readAfter(database.db, 'root', 0, 2);
    expect([limited.events.map((e) => e.id), limited.more]).toEqual([[1, 2], true]);
    // root demoted: its copies of other users' events are not replayed.
    const own = await readAfter(database.db, 'root', 0, 10, { isAdmin: false });
    expect(own.events.map((e) => e.id)).toEqual([2]);
    expect((await readAfter(database.db, 'bob', 0, 10)).events[0]).toMatchObject({
      userId: 'bob',
      id: 1,
      queueId: 'default',
      name: 'queue_item_status_changed',
      owner: 'bob',
      data: { item_id: 3 },
      createdAt: T(0),
    });
  });

  it('prunes only events both older than the age and beyond the newest count; then replay before them resyncs', async ({
    database,
  }) => {
    for (let i = 1; i <= 6; i++) {
      await append(database, [owned('alice', i)], T(i * 60));
    }
    // At 8 min, keeping 2 events and 4 minutes: events at 1..3 min go (4 min is not older than 4 min), in
    // alice's channel and both admins' copies.
    expect(await prune(database.db, T(480), { minEvents: 2, minAgeMs: 4 * 60_000 })).toBe(9);
    expect((await logRows(database)).filter((r) => r.startsWith('alice:'))).toEqual([
      'alice:4:4:alice',
      'alice:5:5:alice',
      'alice:6:6:alice',
    ]);
    expect((await readAfter(database.db, 'alice', 2, 10)).held).toBe(false);
    expect((await readAfter(database.db, 'alice', 3, 10)).events.map((e) => e.id)).toEqual([4, 5, 6]);
    // Much later, the newest 2 stay whatever their age; the ids go on.
    expect(await prune(database.db, T(10_000), { minEvents: 2, minAgeMs: 60_000 })).toBe(3);
    expect((await append(database, [owned('alice', 7)]))[0]?.[0]).toEqual({ userId: 'alice', id: 7 });
  });
});

describe('LogTailer', () => {
  it('delivers followed channels’ new events once, in order, with the preview of the notification', async ({
    database,
    notifier,
  }) => {
    const seen: LoggedEvent[] = [];
    let want = 3;
    let reached = deferred();
    const tail = new LogTailer({
      db: database.db,
      notifier,
      pollIntervalMs: 0,
      onEvents: (_, es) => {
        seen.push(...es);
        if (seen.length >= want) {
          reached.resolve();
        }
      },
    });
    await tail.start();
    try {
      await append(database, [owned('alice', 1)]);
      // alice from her head (1), root from the start; bob not followed.
      tail.follow('alice', await channelHead(database.db, 'alice'));
      tail.follow('root', 0);
      await append(database, [owned('alice', 2)]);
      await reached.promise;
      await tail.catchUp();
      want = 4;
      reached = deferred();
      const image = { dataURL: 'data:x', width: 1, height: 1 };
      await append(database, [
        { name: 'invocation_progress', queueId: 'default', ownerId: 'bob', data: { image } },
      ]);
      await reached.promise;
      await tail.catchUp();
      expect(seen.map((e) => `${e.userId}:${e.id}:${e.name}`).sort()).toEqual([
        'alice:2:queue_item_status_changed',
        'root:1:queue_item_status_changed',
        'root:2:queue_item_status_changed',
        'root:3:invocation_progress',
      ]);
      expect(seen.find((e) => e.name === 'invocation_progress')?.data.image).toEqual(image);
      expect([tail.cursor('alice'), tail.cursor('root'), tail.cursor('bob')]).toEqual([2, 3, undefined]);
    } finally {
      await tail.stop();
    }
  });

  it('catches up without notifications (safety net) and on re-listen', async ({ database }) => {
    const seen: number[] = [];
    const silent: Notifier = {
      listen: async (_c, _f, onListen) => {
        onListen?.();
        return async () => {};
      },
      notify: async () => {},
    };
    const tail = new LogTailer({
      db: database.db,
      notifier: silent,
      pollIntervalMs: 0,
      onEvents: (_, es) => seen.push(...es.map((e) => e.id)),
    });
    await tail.start();
    tail.follow('alice', 0);
    await tail.catchUp();
    await append(database, [owned('alice', 1), owned('alice', 2)]);
    expect(seen).toEqual([]);
    await tail.catchUp();
    await tail.catchUp();
    expect(seen).toEqual([1, 2]);
    await tail.stop();
  });
});

describe.runIf(testDriver() === 'postgres')('channel log under concurrent writers (PostgreSQL)', () => {
  it('a second writer of a channel waits for the first to commit: ids commit in order', async ({
    database,
  }) => {
    const order: string[] = [];
    const release = deferred();
    const firstHolds = deferred();
    const first = database.db.transaction(async (tx) => {
      const ids = await appendEvents(tx, [owned('alice', 1)], T(0));
      order.push(`first got ${ids[0]?.[0]?.id}`);
      firstHolds.resolve();
      await release.promise;
      order.push('first commits');
    });
    await firstHolds.promise;
    const second = append(database, [owned('alice', 2)]).then((ids) =>
      order.push(`second got ${ids[0]?.[0]?.id}`),
    );
    // No event says the second waits on alice's head row: poll for it, bounded.
    let waiting = 0;
    for (let i = 0; i < 500 && waiting === 0; i++) {
      const [row] = rowsOf<{ n: number }>(
        await database.db.execute(sql`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`),
      );
      waiting = row?.n ?? 0;
    }
    expect(waiting).toBe(1);
    expect(order).toEqual(['first got 1']);
    release.resolve();
    await Promise.all([first, second]);
    expect(order).toEqual(['first got 1', 'first commits', 'second got 2']);
  });

  it('two connections writing for the same user: a tailer delivers every id exactly once, in order', async ({
    database,
    notifier,
  }) => {
    const perWriter = 150;
    const total = 2 * perWriter;
    const delivered = new Map<string, number[]>();
    const done = deferred();
    const tail = new LogTailer({
      db: database.db,
      notifier,
      pollIntervalMs: 0,
      onEvents: (userId, es) => {
        const list = delivered.get(userId) ?? [];
        list.push(...es.map((e) => e.id));
        delivered.set(userId, list);
        if ((delivered.get('alice')?.length ?? 0) >= total && (delivered.get('root')?.length ?? 0) >= total) {
          done.resolve();
        }
      },
    });
    await tail.start();
    tail.follow('alice', 0);
    tail.follow('root', 0);
    const writer = async (w: string) => {
      for (let i = 0; i < perWriter; i++) {
        await append(database, [owned('alice', i, { writer: w })]);
      }
    };
    await Promise.all([writer('x'), writer('y')]);
    await done.promise;
    await tail.catchUp();
    await tail.stop();
    const ids = Array.from({ length: total }, (_, i) => i + 1);
    expect(delivered.get('alice')).toEqual(ids);
    expect(delivered.get('root')).toEqual(ids);
    // Each writer's events are in its own order within the channel.
    const { events } = await readAfter(database.db, 'alice', 0, 1000);
    for (const w of ['x', 'y']) {
      const items = events.filter((e) => e.data.writer === w).map((e) => e.data.item_id);
      expect(items).toEqual(Array.from({ length: perWriter }, (_, i) => i));
    }
  });
});
