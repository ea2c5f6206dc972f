import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { Sql } from 'postgres';
import { describe, expect } from 'vitest';
import { eventIdOf } from '../../src/channels/channel-log.ts';
import type { ConnectionInfo } from '../../src/channels/connection.ts';
import { ChannelHub } from '../../src/channels/hub.ts';
import { type ServiceContext, withTransaction } from '../../src/core/context.ts';
import type { ServerEvent } from '../../src/core/events.ts';
import { createJsonLogger } from '../../src/core/logger.ts';
import type { Notifier } from '../../src/core/notifier.ts';
import { migrate } from '../../src/db/migrate.ts';
import { openPglite } from '../../src/db/pglite.ts';
import { pgliteNotifier } from '../../src/db/pglite-notify.ts';
import { rowsOf } from '../../src/db/rows.ts';
import type { Database } from '../../src/db/types.ts';
import { readableSink } from '../../src/http/readable-sink.ts';
import { readMigrationsFromDir } from '../../src/node/migrations-fs.ts';
import { postgresNotifier } from '../../src/node/pg-notify.ts';
import { openPostgres } from '../../src/node/postgres-client.ts';
import { migrationsDir, PG_ADMIN_URL, testDriver } from '../helpers/database.ts';
import { databaseTest } from '../helpers/fixtures.ts';
import { type SseFrame, SseReader, withIds } from '../helpers/sse.ts';

// Two "processes" in one test process: each has its own connection (on PostgreSQL), notifier, tailer and
// hub over one database. On PGlite (one process by nature) both hubs share the embedded database, which is
// still the restart case: the hubs are recreated over the same data.

/** A test's hubs and streams, closed when it ends; then nothing may have logged a warning or an error. */
interface Live {
  hubs: ChannelHub[];
  readers: SseReader[];
  /** What the hubs logged (warnings and errors). */
  errors: Record<string, unknown>[];
  /** Streams opened so far, for their connection ids. */
  connections: number;
}

const notifierOf = (db: Database): Notifier => {
  const client = (db.db as unknown as { $client: unknown }).$client;
  return db.driver === 'pglite' ? pgliteNotifier(client as PGlite) : postgresNotifier(client as Sql);
};

/**
 * The file's database, `second`, the second process's own connection to it (the same database object on
 * PGlite), and `live`, the test's hubs and streams.
 */
const test = databaseTest
  .extend('second', { scope: 'file' }, async ({ database }, { onCleanup }): Promise<Database> => {
    if (database.driver !== 'postgres') {
      return database;
    }
    const [row] = rowsOf<{ name: string }>(await database.db.execute(sql`SELECT current_database() AS name`));
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${row?.name}`;
    const second = openPostgres(url.toString(), { max: 4 });
    onCleanup(() => second.close());
    return second;
  })
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern.
  .extend('live', { auto: true }, async ({}, { onCleanup }): Promise<Live> => {
    const live: Live = { hubs: [], readers: [], errors: [], connections: 0 };
    onCleanup(async () => {
      await stopAll(live);
      expect(live.errors).toEqual([]);
    });
    return live;
  });
const it = test;

test.beforeEach(async ({ database }) => {
  await database.db.execute(sql`TRUNCATE channel_log, channel_heads`);
  await database.db.execute(sql`DELETE FROM users WHERE user_id <> 'system'`);
  for (const [id, admin] of [
    ['alice', false],
    ['bob', false],
    ['root', true],
  ] as const) {
    await database.db.execute(sql`INSERT INTO users (user_id, email, display_name, password_hash, is_admin, is_active)
      VALUES (${id}, ${`${id}@x`}, ${id}, '!', ${admin}, true)`);
  }
});

/** Closes the test's streams, then shuts its hubs down (a process stopping), and forgets both. */
async function stopAll(live: Live) {
  await Promise.all(live.readers.map((r) => r.close()));
  await Promise.all(live.hubs.map((h) => h.shutdown()));
  live.readers = [];
  live.hubs = [];
}

/** A hub following the log over `db` (process A: the test database; B: the second connection). */
async function startHub(live: Live, db: Database): Promise<ChannelHub> {
  const hub = new ChannelHub({
    clock: { now: () => new Date() },
    logger: createJsonLogger({
      level: 'warn',
      write: (line) => live.errors.push(JSON.parse(line)),
    }),
    loadQueueStatus: async () => ({
      pending: 0,
      in_progress: 0,
      completed: 0,
      failed: 0,
      canceled: 0,
      total: 0,
    }),
    log: { db: db.db, notifier: notifierOf(db), pollIntervalMs: 1000, pruneIntervalMs: 0 },
  });
  await hub.start();
  live.hubs.push(hub);
  return hub;
}

function open(live: Live, hub: ChannelHub, user: string, o: { admin?: boolean; lastEventId?: string } = {}) {
  live.connections++;
  const info: ConnectionInfo = {
    connectionId: `conn-${live.connections}`,
    userId: user,
    isAdmin: o.admin ?? false,
    token: null,
  };
  const { sink, body } = readableSink();
  hub.connect({ anonymous: false, lastEventId: o.lastEventId, info, sink });
  const sse = new SseReader(body);
  live.readers.push(sse);
  return sse;
}

const status = (owner: string, item: number, extra: Record<string, unknown> = {}): ServerEvent => ({
  name: 'queue_item_status_changed',
  queueId: 'default',
  ownerId: owner,
  data: { item_id: item, status: 'pending', ...extra },
});
const progress = (owner: string, item: number): ServerEvent => ({
  name: 'invocation_progress',
  queueId: 'default',
  ownerId: owner,
  data: {
    item_id: item,
    message: 'Denoising',
    percentage: 0.5,
    image: { dataURL: `data:image/jpeg;base64,PREVIEW-${item}`, width: 8, height: 8 },
  },
});

/** The frame a stream gets for an event with log id `id` in `user`'s channel. */
const frame = (user: string, id: number, e: ServerEvent, image?: null): SseFrame =>
  withoutPreview({
    id: eventIdOf(user, id),
    event: e.name,
    data: { ...e.data, ...(image === null ? { image: null } : {}), queue_id: e.queueId },
  });

/**
 * The first frames with ids. A live preview rides the notification of its commit; when the tailer's
 * safety-net read reaches the row first (under load), the frame goes out as the log has it, `image: null`
 * (API.md section 8 allows it for replay; ADR 0004): previews are compared as `null` for that reason.
 * Waits until `sse` has `n` events with ids; returns those.
 */
async function idsOf(sse: SseReader, n: number): Promise<SseFrame[]> {
  await sse.until((frames) => withIds(frames).length >= n);
  return withIds(sse.frames).map(withoutPreview);
}

function withoutPreview(f: SseFrame): SseFrame {
  if (f.event !== 'invocation_progress' || typeof f.data !== 'object' || f.data === null) {
    return f;
  }
  return { ...f, data: { ...(f.data as Record<string, unknown>), image: null } };
}

/** retry, connected, and nothing else that is not an event with an id (no resync). */
const controlFrames = (sse: SseReader) =>
  sse.frames.filter((f) => f.id === undefined && f.event !== 'queue_status').map((f) => f.event ?? 'retry');

describe('channels through the log, two processes', () => {
  it("a user's streams on both processes get the same events with the same ids, admins a copy", async ({
    database,
    second,
    live,
  }) => {
    const a = await startHub(live, database);
    const b = await startHub(live, second);
    const onA = open(live, a, 'alice');
    const onB = open(live, b, 'alice');
    const admin = open(live, b, 'root', { admin: true });
    const bobs = open(live, a, 'bob');
    // Every stream is live (its channel's head read and followed) before anything is published.
    await a.settled();
    await b.settled();
    const sent = [status('alice', 1), status('alice', 2), progress('alice', 3), status('alice', 4)];
    // One after the other, alternating processes (concurrent publishers: see below).
    for (const [k, e] of sent.entries()) {
      const hub = k % 2 === 0 ? a : b;
      hub.publish(e);
      await hub.settled();
    }
    b.publish(status('bob', 9));
    const expected = [
      frame('alice', 1, sent[0] as ServerEvent),
      frame('alice', 2, sent[1] as ServerEvent),
      frame('alice', 3, sent[2] as ServerEvent),
      frame('alice', 4, sent[3] as ServerEvent),
    ];
    expect(await idsOf(onA, 4)).toEqual(expected);
    expect(await idsOf(onB, 4)).toEqual(expected);
    expect(await idsOf(bobs, 1)).toEqual([frame('bob', 1, status('bob', 9))]);
    // The admin's channel numbers its own copies (the preview rides along live on the other process too).
    expect(await idsOf(admin, 5)).toEqual([
      frame('root', 1, sent[0] as ServerEvent),
      frame('root', 2, sent[1] as ServerEvent),
      frame('root', 3, sent[2] as ServerEvent),
      frame('root', 4, sent[3] as ServerEvent),
      frame('root', 5, status('bob', 9)),
    ]);
    expect(withIds(onA.frames)).toHaveLength(4);
    expect(withIds(onB.frames)).toHaveLength(4);
    expect([controlFrames(onA), controlFrames(onB)]).toEqual([
      ['retry', 'connected'],
      ['retry', 'connected'],
    ]);
  });

  it('a stream closed on A resumes on B with Last-Event-ID: exactly the events after it, no resync', async ({
    database,
    second,
    live,
  }) => {
    const a = await startHub(live, database);
    const b = await startHub(live, second);
    const onA = open(live, a, 'alice');
    await a.settled();
    const events = [1, 2, 3, 4, 5, 6].map((n) => (n === 5 ? progress('alice', n) : status('alice', n)));
    for (const e of events.slice(0, 3)) {
      a.publish(e);
    }
    const seen = await idsOf(onA, 3);
    await onA.close();
    for (const e of events.slice(3, 5)) {
      a.publish(e);
    }
    await a.settled();
    // B never had Alice's channel: its replay comes from the log (the preview image is not kept: null).
    const onB = open(live, b, 'alice', { lastEventId: seen[2]?.id });
    expect(await idsOf(onB, 2)).toEqual([
      frame('alice', 4, events[3] as ServerEvent),
      frame('alice', 5, events[4] as ServerEvent, null),
    ]);
    a.publish(events[5] as ServerEvent);
    expect(await idsOf(onB, 3)).toEqual([
      frame('alice', 4, events[3] as ServerEvent),
      frame('alice', 5, events[4] as ServerEvent, null),
      frame('alice', 6, events[5] as ServerEvent),
    ]);
    expect(controlFrames(onB)).toEqual(['retry', 'connected']);
    // Id 0 (before the first event) resumes with everything, on A too.
    const again = open(live, a, 'alice', { lastEventId: eventIdOf('alice', 0) });
    expect((await idsOf(again, 6)).map((f) => f.id)).toEqual(
      [1, 2, 3, 4, 5, 6].map((n) => eventIdOf('alice', n)),
    );
    expect(controlFrames(again)).toEqual(['retry', 'connected']);
  });

  it('after both processes restart, a Last-Event-ID from before still resumes', async ({
    database,
    second,
    live,
  }) => {
    let a = await startHub(live, database);
    let b = await startHub(live, second);
    const onA = open(live, a, 'alice');
    await a.settled();
    const events = [1, 2, 3, 4].map((n) => status('alice', n));
    for (const e of events.slice(0, 2)) {
      b.publish(e);
    }
    const seen = await idsOf(onA, 2);
    for (const e of events.slice(2)) {
      a.publish(e);
    }
    await idsOf(onA, 4);
    // Both processes stop: the stream (onA) closes and the hubs shut down.
    await stopAll(live);
    a = await startHub(live, database);
    b = await startHub(live, second);
    const resumed = open(live, b, 'alice', { lastEventId: seen[1]?.id });
    expect(await idsOf(resumed, 2)).toEqual([
      frame('alice', 3, events[2] as ServerEvent),
      frame('alice', 4, events[3] as ServerEvent),
    ]);
    a.publish(status('alice', 5));
    expect((await idsOf(resumed, 3))[2]).toEqual(frame('alice', 5, status('alice', 5)));
    expect(controlFrames(resumed)).toEqual(['retry', 'connected']);
  });

  it('two publishers for the same user at once: every stream gets each event once, in one order', async ({
    database,
    second,
    live,
  }) => {
    const a = await startHub(live, database);
    const b = await startHub(live, second);
    const onA = open(live, a, 'alice');
    const onB = open(live, b, 'alice');
    await a.settled();
    await b.settled();
    a.publish(status('alice', 0));
    const n = 40;
    for (let i = 1; i <= n; i++) {
      a.publish(status('alice', i, { from: 'a' }));
      b.publish(status('alice', 1000 + i, { from: 'b' }));
    }
    const gotA = await idsOf(onA, 2 * n + 1);
    const gotB = await idsOf(onB, 2 * n + 1);
    expect(gotA.map((f) => f.id)).toEqual(
      Array.from({ length: 2 * n + 1 }, (_, i) => eventIdOf('alice', i + 1)),
    );
    expect(gotB).toEqual(gotA);
    const items = gotA.map((f) => (f.data as { item_id: number }).item_id);
    expect(new Set(items).size).toBe(2 * n + 1);
    // Each publisher's events keep its order.
    expect(items.filter((i) => i >= 1 && i < 1000)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(items.filter((i) => i >= 1000)).toEqual(Array.from({ length: n }, (_, i) => 1001 + i));
    // A late stream resumes from the middle, on the other process, without a gap or a repeat.
    const mid = gotA[n]?.id;
    const late = open(live, a, 'alice', { lastEventId: mid });
    expect(await idsOf(late, n)).toEqual(gotA.slice(n + 1));
    expect(controlFrames(late)).toEqual(['retry', 'connected']);
  });

  it('an id of another channel, a malformed one, or one pruned from the log: resync, then live events', async ({
    database,
    second,
    live,
  }) => {
    const a = await startHub(live, database);
    a.publish(status('alice', 1));
    a.publish(status('bob', 2));
    await a.settled();
    for (const lastEventId of [eventIdOf('bob', 1), 'nonsense', eventIdOf('alice', 99)]) {
      const sse = open(live, a, 'alice', { lastEventId });
      await sse.untilEvent('resync');
      expect(sse.frames.map((f) => f.event ?? 'retry')).toEqual(['retry', 'connected', 'resync']);
    }
    await database.db.execute(sql`DELETE FROM channel_log WHERE user_id = 'alice'`);
    const b = await startHub(live, second);
    const pruned = open(live, b, 'alice', { lastEventId: eventIdOf('alice', 0) });
    await pruned.untilEvent('resync');
    await b.settled();
    b.publish(status('alice', 3));
    expect(await idsOf(pruned, 1)).toEqual([frame('alice', 2, status('alice', 3))]);
  });
});

describe('events written in the transaction of their change', () => {
  /** What `withTransaction` needs of a service context, over process A's connection and hub. */
  const ctxOf = (database: Database, hub: ChannelHub) =>
    ({ db: database.db, clock: { now: () => new Date() }, channels: hub }) as unknown as ServiceContext;
  const marks = async (database: Database) =>
    rowsOf<{ display_name: string }>(
      await database.db.execute(sql`SELECT display_name FROM users WHERE user_id = 'bob'`),
    )[0]?.display_name;

  it('commit: the change and its event together; rollback (or a failed savepoint): neither', async ({
    database,
    second,
    live,
  }) => {
    const a = await startHub(live, database);
    const b = await startHub(live, second);
    const onB = open(live, b, 'alice');
    await b.settled();
    const ctx = ctxOf(database, a);
    await withTransaction(ctx, async (tx) => {
      await tx.db.execute(sql`UPDATE users SET display_name = 'one' WHERE user_id = 'bob'`);
      tx.channels.publish(status('alice', 1));
    });
    await expect(
      withTransaction(ctx, async (tx) => {
        await tx.db.execute(sql`UPDATE users SET display_name = 'two' WHERE user_id = 'bob'`);
        tx.channels.publish(status('alice', 2));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await marks(database)).toBe('one');
    await withTransaction(ctx, async (tx) => {
      await expect(
        withTransaction(tx, async (inner) => {
          inner.channels.publish(status('alice', 3));
          throw new Error('savepoint');
        }),
      ).rejects.toThrow('savepoint');
      await withTransaction(tx, async (inner) => {
        inner.channels.publish(status('alice', 4));
      });
      tx.channels.publish(status('alice', 5));
    });
    // Ids 1, 2, 3: the rolled-back events never took one.
    expect(await idsOf(onB, 3)).toEqual([
      frame('alice', 1, status('alice', 1)),
      frame('alice', 2, status('alice', 4)),
      frame('alice', 3, status('alice', 5)),
    ]);
    // An event published outside a transaction (a worker's invocation event) keeps its place before the
    // next transaction's events.
    a.publish(progress('alice', 6));
    await withTransaction(ctx, async (tx) => {
      tx.channels.publish(status('alice', 7));
    });
    expect((await idsOf(onB, 5)).slice(3)).toEqual([
      frame('alice', 4, progress('alice', 6)),
      frame('alice', 5, status('alice', 7)),
    ]);
    const logged = rowsOf<{ id: number }>(
      await database.db.execute(sql`SELECT id FROM channel_log WHERE user_id = 'alice' ORDER BY id`),
    ).map((r) => Number(r.id));
    expect(logged).toEqual([1, 2, 3, 4, 5]);
  });

  it('events published outside a transaction are written first in the next one, in its commit; a rollback hands them back, still first', async ({
    database,
    live,
  }) => {
    const a = await startHub(live, database);
    const ctx = ctxOf(database, a);
    a.publish(progress('alice', 1));
    await withTransaction(ctx, async (tx) => {
      tx.channels.publish(status('alice', 2));
    });
    a.publish(progress('alice', 3));
    await expect(
      withTransaction(ctx, async (tx) => {
        tx.channels.publish(status('alice', 4));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    a.publish(progress('alice', 5));
    await a.settled();
    const rows = rowsOf<{ id: number; item: number; tx: string }>(
      await database.db.execute(sql`SELECT id, (data->>'item_id')::int AS item, xmin::text AS tx
        FROM channel_log WHERE user_id = 'alice' ORDER BY id`),
    );
    expect(rows.map((r) => [Number(r.id), r.item])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 5],
    ]);
    // One commit for the carried event and the transaction's own.
    expect(rows[0]?.tx).toBe(rows[1]?.tx);
  });
});

describe.runIf(testDriver() === 'pglite')('the embedded database (one process)', () => {
  it('Last-Event-ID replay survives a restart: the app recreated over the same data dir', async ({
    live,
  }) => {
    const dir = await mkdtemp(join(tmpdir(), 'easel-channels-'));
    try {
      const files = await readMigrationsFromDir(migrationsDir);
      let db = await openPglite(dir);
      await migrate(db.db, files);
      await db.db.execute(sql`INSERT INTO users (user_id, email, display_name, password_hash, is_admin, is_active)
        VALUES ('alice', 'alice@x', 'alice', '!', false, true)`);
      let hub = await startHub(live, db);
      const first = open(live, hub, 'alice');
      await hub.settled();
      const events = [1, 2, 3, 4].map((n) => (n === 3 ? progress('alice', n) : status('alice', n)));
      for (const e of events) {
        hub.publish(e);
      }
      const seen = await idsOf(first, 4);
      expect(seen[2]).toEqual(frame('alice', 3, events[2] as ServerEvent));
      // The stream (first) closes and the hub shuts down.
      await stopAll(live);
      await db.close();

      db = await openPglite(dir);
      await migrate(db.db, files);
      hub = await startHub(live, db);
      const resumed = open(live, hub, 'alice', { lastEventId: seen[0]?.id });
      expect(await idsOf(resumed, 3)).toEqual([
        frame('alice', 2, events[1] as ServerEvent),
        frame('alice', 3, events[2] as ServerEvent, null),
        frame('alice', 4, events[3] as ServerEvent),
      ]);
      hub.publish(status('alice', 5));
      expect((await idsOf(resumed, 4))[3]).toEqual(frame('alice', 5, status('alice', 5)));
      expect(controlFrames(resumed)).toEqual(['retry', 'connected']);
      await stopAll(live);
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
