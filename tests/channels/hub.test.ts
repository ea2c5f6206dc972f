import { test as base, describe, expect, vi } from 'vitest';
import type { ConnectionInfo } from '../../src/channels/connection.ts';
import { ChannelHub, type ChannelHubOptions } from '../../src/channels/hub.ts';
import type { ServerEvent, ServerEventName } from '../../src/core/events.ts';
import { createJsonLogger } from '../../src/core/logger.ts';
import { readableSink } from '../../src/http/readable-sink.ts';
import { type SseFrame, SseReader, withIds } from '../helpers/sse.ts';

// Every timer of the hub (the 1 s tick, the queue_status coalescing) and its clock run on fake time here,
// so sequences are exact: nothing arrives unless the test moves time.
const T0 = Date.UTC(2030, 0, 1);
const NOW_S = T0 / 1000;
const COUNTS = { pending: 3, in_progress: 1, completed: 2, failed: 0, canceled: 1, total: 7 };

/** A test's hubs, streams and what they logged and loaded, on fake time until the test ends. */
interface Rig {
  hubs: ChannelHub[];
  readers: SseReader[];
  logs: Record<string, unknown>[];
  /** When the hubs loaded the queue's counts (fake time). */
  statusLoads: number[];
  /** Streams opened so far, for their connection ids. */
  connections: number;
  /** Events `owned` made so far, for their item ids. */
  items: number;
}

function makeHub(rig: Rig, opts: Partial<ChannelHubOptions> = {}): ChannelHub {
  const hub = new ChannelHub({
    clock: { now: () => new Date() },
    logger: createJsonLogger({ level: 'debug', write: (line) => rig.logs.push(JSON.parse(line)) }),
    loadQueueStatus: async (queueId) => {
      expect(queueId).toBe('default');
      rig.statusLoads.push(Date.now());
      return { ...COUNTS };
    },
    ...opts,
  });
  rig.hubs.push(hub);
  return hub;
}

interface Open {
  user?: string;
  admin?: boolean;
  anonymous?: boolean;
  lastEventId?: string;
  token?: ConnectionInfo['token'];
}

/** Opens a stream on the hub, as the events route does, and a reader on it. */
function open(rig: Rig, hub: ChannelHub, o: Open) {
  rig.connections++;
  const info: ConnectionInfo = {
    connectionId: `conn-${rig.connections}`,
    userId: o.anonymous ? 'system' : (o.user ?? 'nobody'),
    isAdmin: o.admin ?? false,
    token: o.token ?? null,
  };
  const { sink, body } = readableSink();
  const conn = hub.connect({ anonymous: o.anonymous ?? false, lastEventId: o.lastEventId, info, sink });
  const sse = new SseReader(body);
  rig.readers.push(sse);
  return { conn, sse, info };
}

const OWNED: ServerEventName[] = [
  'queue_item_status_changed',
  'invocation_started',
  'invocation_progress',
  'invocation_complete',
  'invocation_error',
  'batch_enqueued',
  'queue_items_retried',
  'queue_items_canceled',
];

/** An event of one of `owner`'s items (what the queue would publish). */
function owned(rig: Rig, name: ServerEventName, owner: string): ServerEvent {
  rig.items++;
  return {
    name,
    queueId: 'default',
    ownerId: owner,
    data: { item_id: rig.items, batch_id: `batch-of-${owner}`, user_id: owner },
  };
}

/**
 * The test API: `rig`, the test's own (fake timers from its start; its streams closed, its hubs closed and
 * real timers back at its end), and on it `makeHub`, `open`, `owned`, `logs` and `statusLoads`.
 */
const test = base
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern.
  .extend('rig', { auto: true }, async ({}, { onCleanup }): Promise<Rig> => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(T0);
    const rig: Rig = { hubs: [], readers: [], logs: [], statusLoads: [], connections: 0, items: 0 };
    onCleanup(async () => {
      await Promise.all(rig.readers.map((r) => r.close()));
      for (const hub of rig.hubs) {
        hub.close();
      }
      vi.useRealTimers();
    });
    return rig;
  })
  .extend('makeHub', ({ rig }) => makeHub.bind(null, rig))
  .extend('open', ({ rig }) => open.bind(null, rig))
  .extend('owned', ({ rig }) => owned.bind(null, rig))
  .extend('logs', ({ rig }) => rig.logs)
  .extend('statusLoads', ({ rig }) => rig.statusLoads);
const it = test;

/** The `open` and `owned` fixtures, for helpers that take them. */
interface Streams {
  open: (hub: ChannelHub, o: Open) => ReturnType<typeof open>;
  owned: (name: ServerEventName, owner: string) => ServerEvent;
}

const cleared = (): ServerEvent => ({ name: 'queue_cleared', queueId: 'default', ownerId: null, data: {} });

/** The frame a client receives for an event, with the channel's id. */
const frameOf = (e: ServerEvent, id: unknown): SseFrame => ({
  id: id as string,
  event: e.name,
  data: { ...e.data, queue_id: e.queueId },
});

const RETRY: SseFrame = { retry: 3000 };
const connected = (info: ConnectionInfo): SseFrame => ({
  event: 'connected',
  data: { connection_id: info.connectionId, user_id: info.userId, is_admin: info.isAdmin },
});
const RESYNC: SseFrame = { event: 'resync', data: { reason: 'history_unavailable' } };
const authExpired = (reason: string): SseFrame => ({ event: 'auth_expired', data: { reason } });

/** `<nonce>-1 … <nonce>-n` for the channel whose first id is `first`. */
function idsFrom(first: string | undefined, n: number, start = 1): string[] {
  const nonce = first?.split('-')[0];
  return Array.from({ length: n }, (_, i) => `${nonce}-${start + i}`);
}

const idOf = (frames: SseFrame[], i: number) => withIds(frames)[i]?.id as string;

describe('routing (API.md §5 table)', () => {
  it('owned events go to the owner and every admin, queue-wide ones to all, anonymous only queue-wide', async ({
    makeHub,
    open,
    owned,
  }) => {
    const hub = makeHub();
    const a = open(hub, { user: 'a' });
    const b = open(hub, { user: 'b' });
    const admin1 = open(hub, { user: 'admin1', admin: true });
    const admin2 = open(hub, { user: 'admin2', admin: true });
    const anon = open(hub, { anonymous: true });

    const ofA = OWNED.map((name) => owned(name, 'a'));
    const ofB = OWNED.map((name) => owned(name, 'b'));
    const ofAdmin1 = owned('batch_enqueued', 'admin1');
    const status: ServerEvent = { name: 'queue_status', queueId: 'default', ownerId: null, data: COUNTS };
    const sent: ServerEvent[] = [];
    for (let i = 0; i < OWNED.length; i++) {
      sent.push(ofA[i] as ServerEvent, ofB[i] as ServerEvent);
    }
    sent.push(ofAdmin1, status, cleared());
    for (const e of sent) {
      hub.publish(e);
    }

    const expectStream = async (s: { sse: SseReader; info: ConnectionInfo }, got: ServerEvent[]) => {
      const frames = await s.sse.untilEvent('queue_cleared');
      const ids = withIds(frames).map((f) => f.id);
      expect(frames).toEqual([
        RETRY,
        connected(s.info),
        ...got.map((e, i) => frameOf(e, idsFrom(ids[0], got.length)[i] as string)),
      ]);
    };
    const mine = (owner: string) => sent.filter((e) => e.ownerId === owner || e.ownerId === null);
    await expectStream(a, mine('a'));
    await expectStream(b, mine('b'));
    await expectStream(admin1, sent);
    await expectStream(admin2, sent);
    await expectStream(anon, [status, sent.at(-1) as ServerEvent]);

    expect(b.sse.text).not.toContain('batch-of-a');
    expect(b.sse.text).not.toContain('"user_id":"a"');
    expect(a.sse.text).not.toContain('batch-of-b');
    expect(anon.sse.text).not.toMatch(/batch-of|item_id/);
    // Each channel numbers its own events.
    const nonces = [a, b, admin1, admin2, anon].map((s) => withIds(s.sse.frames)[0]?.id?.split('-')[0]);
    expect(new Set(nonces).size).toBe(5);
  });

  it('every connection of a user gets every event of the channel, in the same order', async ({
    makeHub,
    open,
    owned,
  }) => {
    const hub = makeHub();
    const tab1 = open(hub, { user: 'a' });
    hub.publish(owned('batch_enqueued', 'a'));
    const tab2 = open(hub, { user: 'a' });
    const tab3 = open(hub, { user: 'a', admin: false });
    const later = [
      owned('invocation_started', 'a'),
      owned('invocation_progress', 'a'),
      cleared(),
      owned('invocation_complete', 'a'),
      cleared(),
    ];
    for (const e of later) {
      hub.publish(e);
    }
    const live = async (s: { sse: SseReader }) => withIds(await s.sse.untilEvent('queue_cleared', 2));
    const one = await live(tab1);
    expect(one.map((f) => f.event)).toEqual(['batch_enqueued', ...later.map((e) => e.name)]);
    expect(await live(tab2)).toEqual(one.slice(1));
    expect(await live(tab3)).toEqual(one.slice(1));
    expect(one.map((f) => f.id)).toEqual(idsFrom(one[0]?.id, 6));
    expect(hub.stats()).toEqual({ channels: 1, connections: 3, timers: 2 });
  });
});

describe('resuming with Last-Event-ID', () => {
  it('replays exactly the missed events, then live ones, even when one is published right after connect', async ({
    makeHub,
    open,
    owned,
  }) => {
    const hub = makeHub();
    const first = open(hub, { user: 'a' });
    const before = [1, 2, 3, 4, 5].map(() => owned('invocation_progress', 'a'));
    for (const e of before) {
      hub.publish(e);
    }
    const seen = await first.sse.untilEvent('invocation_progress', 5);
    const lastSeen = idOf(seen, 1); // the client read two, then the connection dropped
    await first.sse.close();
    const whileAway = owned('invocation_complete', 'a');
    hub.publish(whileAway);

    const again = open(hub, { user: 'a', lastEventId: lastSeen });
    const rightAfter = owned('queue_item_status_changed', 'a'); // the same tick as the connect
    hub.publish(rightAfter);
    hub.publish(cleared());
    const frames = await again.sse.untilEvent('queue_cleared');
    const ids = idsFrom(lastSeen, 6, 3);
    expect(frames).toEqual([
      RETRY,
      connected(again.info),
      frameOf(before[2] as ServerEvent, ids[0]),
      frameOf(before[3] as ServerEvent, ids[1] as string),
      frameOf(before[4] as ServerEvent, ids[2] as string),
      frameOf(whileAway, ids[3] as string),
      frameOf(rightAfter, ids[4] as string),
      frameOf(cleared(), ids[5] as string),
    ]);
  });

  it('an up-to-date id replays nothing; live events follow', async ({ makeHub, open, owned }) => {
    const hub = makeHub();
    const first = open(hub, { user: 'a' });
    hub.publish(owned('batch_enqueued', 'a'));
    const last = idOf(await first.sse.untilEvent('batch_enqueued'), 0);
    const again = open(hub, { user: 'a', lastEventId: last });
    const next = owned('invocation_started', 'a');
    hub.publish(next);
    expect(await again.sse.untilEvent('invocation_started')).toEqual([
      RETRY,
      connected(again.info),
      frameOf(next, idsFrom(last, 1, 2)[0] as string),
    ]);
  });

  it('replays a Last-Event-ID resume to every new tab without touching the open ones', async ({
    makeHub,
    open,
    owned,
  }) => {
    const hub = makeHub();
    const open1 = open(hub, { user: 'a' });
    hub.publish(owned('batch_enqueued', 'a'));
    hub.publish(owned('batch_enqueued', 'a'));
    const first = idOf(await open1.sse.untilEvent('batch_enqueued', 2), 0);
    const resumed = open(hub, { user: 'a', lastEventId: first });
    hub.publish(cleared());
    expect((await resumed.sse.untilEvent('queue_cleared')).map((f) => f.id ?? f.event)).toEqual([
      undefined,
      'connected',
      ...idsFrom(first, 2, 2),
    ]);
    expect(withIds(await open1.sse.untilEvent('queue_cleared')).map((f) => f.id)).toEqual(idsFrom(first, 3));
  });

  describe('an id the channel does not hold starts with `resync`', () => {
    async function resumeFrom({ open, owned }: Streams, lastEventId: string, hub: ChannelHub) {
      const s = open(hub, { user: 'a', lastEventId });
      const live = owned('batch_enqueued', 'a');
      hub.publish(live);
      const frames = await s.sse.untilEvent('batch_enqueued');
      expect(frames.slice(0, 3)).toEqual([RETRY, connected(s.info), RESYNC]);
      expect(frames.slice(3)).toEqual([frameOf(live, expect.any(String))]);
    }

    it('too old: its successors were dropped', async ({ makeHub, open, owned }) => {
      const hub = makeHub({ limits: { minEvents: 2, minAgeMs: 0, maxEvents: 3 } });
      const s = open(hub, { user: 'a' });
      for (let i = 0; i < 5; i++) {
        hub.publish(owned('invocation_progress', 'a'));
      }
      const frames = await s.sse.untilEvent('invocation_progress', 5);
      await s.sse.close();
      // The channel holds 3..5: a client that saw 2 can resume, one that saw 1 cannot.
      const resumable = open(hub, { user: 'a', lastEventId: idOf(frames, 1) });
      hub.publish(cleared());
      expect(withIds(await resumable.sse.untilEvent('queue_cleared')).map((f) => f.id)).toEqual(
        idsFrom(idOf(frames, 0), 4, 3),
      );
      await resumeFrom({ open, owned }, idOf(frames, 0), hub);
    });

    it('too new, foreign (another user’s channel), from before a restart, or not an id at all', async ({
      makeHub,
      open,
      owned,
    }) => {
      const hub = makeHub();
      const a = open(hub, { user: 'a' });
      const b = open(hub, { user: 'b' });
      hub.publish(owned('batch_enqueued', 'a'));
      hub.publish(owned('batch_enqueued', 'b'));
      const aId = idOf(await a.sse.untilEvent('batch_enqueued'), 0);
      const bId = idOf(await b.sse.untilEvent('batch_enqueued'), 0);
      const restarted = makeHub();
      const old = open(restarted, { user: 'a' });
      restarted.publish(owned('batch_enqueued', 'a'));
      const oldId = idOf(await old.sse.untilEvent('batch_enqueued'), 0);
      expect(new Set([aId, bId, oldId]).size).toBe(3);
      for (const id of [
        idsFrom(aId, 1, 2)[0] as string, // never issued yet
        bId,
        oldId,
        'garbage',
        '',
        '1',
        `${aId}0`,
        `${aId} `,
      ]) {
        await resumeFrom({ open, owned }, id, hub);
      }
    });
  });
});

describe('backpressure', () => {
  it('a reader that falls maxQueued frames behind is disconnected; it resumes with its last id', async ({
    makeHub,
    open,
    owned,
    logs,
  }) => {
    const hub = makeHub({ maxQueued: 50 });
    const slow = open(hub, { user: 'a' });
    const events = Array.from({ length: 60 }, () => owned('invocation_progress', 'a'));
    for (const e of events) {
      hub.publish(e);
    }
    // retry + connected + 49 events = 51 queued frames: one more than the reader may fall behind.
    expect(slow.conn.closed).toBe(true);
    expect(hub.stats().connections).toBe(0);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'event stream too far behind: disconnected',
        connection_id: slow.info.connectionId,
        user_id: 'a',
      }),
    );
    const frames = await slow.sse.untilEnd();
    const got = withIds(frames);
    expect(frames.slice(0, 2)).toEqual([RETRY, connected(slow.info)]);
    expect(got.map((f) => f.data)).toEqual(events.slice(0, 49).map((e) => frameOf(e, '').data));
    expect(frames).toHaveLength(51);

    const resumed = open(hub, { user: 'a', lastEventId: got.at(-1)?.id });
    hub.publish(cleared());
    const rest = withIds(await resumed.sse.untilEvent('queue_cleared'));
    expect(rest.map((f) => f.data)).toEqual([...events.slice(49), cleared()].map((e) => frameOf(e, '').data));
    expect(rest.map((f) => f.id)).toEqual(idsFrom(got[0]?.id, 12, 50));
  });

  it('a reader that keeps up is never disconnected', async ({ makeHub, open, owned }) => {
    const hub = makeHub({ maxQueued: 50 });
    const s = open(hub, { user: 'a' });
    for (let round = 1; round <= 40; round++) {
      for (let i = 0; i < 25; i++) {
        hub.publish(owned('invocation_progress', 'a'));
      }
      await s.sse.untilEvent('invocation_progress', round * 25);
    }
    expect(s.conn.closed).toBe(false);
    expect(hub.stats().connections).toBe(1);
  });

  it('a replay longer than maxQueued sends what fits, then ends; the client catches up over reconnects', async ({
    makeHub,
    open,
    owned,
  }) => {
    const hub = makeHub({ maxQueued: 10 });
    const first = open(hub, { user: 'a' });
    hub.publish(owned('batch_enqueued', 'a'));
    const from = idOf(await first.sse.untilEvent('batch_enqueued'), 0);
    await first.sse.close();
    for (let i = 0; i < 20; i++) {
      hub.publish(owned('invocation_progress', 'a'));
    }
    // retry + connected + 9 replayed = 11 frames: the replay stops there and the stream ends.
    const got: string[] = [];
    let last = from;
    for (const expected of [9, 9, 2]) {
      const resumed = open(hub, { user: 'a', lastEventId: last });
      if (expected === 9) {
        expect(resumed.conn.closed).toBe(true);
        expect(hub.stats().connections).toBe(0);
      } else {
        hub.publish(cleared());
      }
      const frames = withIds(
        expected === 9 ? await resumed.sse.untilEnd() : await resumed.sse.untilEvent('queue_cleared'),
      );
      expect(frames).toHaveLength(expected + (expected === 9 ? 0 : 1));
      got.push(...frames.map((f) => f.id as string));
      last = got.at(-1) as string;
    }
    expect(got).toEqual(idsFrom(from, 21, 2));
  });
});

describe('queue_status', () => {
  it('coalesces many changes into one event per statusIntervalMs, counts only, to everyone', async ({
    makeHub,
    open,
    owned,
    statusLoads,
  }) => {
    const hub = makeHub({ statusIntervalMs: 250 });
    const anon = open(hub, { anonymous: true });
    const a = open(hub, { user: 'a' });
    for (let i = 0; i < 100; i++) {
      hub.publish(owned('invocation_progress', 'b'));
    }
    expect(statusLoads).toEqual([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(statusLoads).toEqual([T0]);
    const status = { event: 'queue_status', data: { ...COUNTS, queue_id: 'default' } };
    expect(await anon.sse.untilEvent('queue_status')).toEqual([
      RETRY,
      connected(anon.info),
      { id: expect.any(String), ...status },
    ]);
    expect(withIds(await a.sse.untilEvent('queue_status'))).toEqual([{ id: expect.any(String), ...status }]);

    // A change every 10 ms for 10 s: one load (and one event) at most every 250 ms, and the last change
    // is always followed by one.
    for (let i = 0; i < 1000; i++) {
      hub.publish(owned('invocation_progress', 'b'));
      await vi.advanceTimersByTimeAsync(10);
    }
    await vi.advanceTimersByTimeAsync(250);
    const gaps = statusLoads.slice(1).map((t, i) => t - (statusLoads[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(250);
    expect(statusLoads.length).toBeGreaterThanOrEqual(40);
    expect(statusLoads.length).toBeLessThanOrEqual(42);
    expect(statusLoads.at(-1)).toBeGreaterThanOrEqual(T0 + 10_000);
    const total = statusLoads.length;
    await anon.sse.untilEvent('queue_status', total);
    expect(anon.sse.names()).toEqual(['connected', ...Array(total).fill('queue_status')]);

    // queue_status does not feed itself: no change, no event.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(statusLoads).toHaveLength(total);
    expect(hub.stats().timers).toBe(1); // the tick only: streams are open
  });

  it('a failing count is logged and the next change tries again', async ({ makeHub, open, logs }) => {
    let fail = true;
    const hub = makeHub({
      loadQueueStatus: async () => {
        if (fail) {
          throw new Error('db down');
        }
        return { ...COUNTS };
      },
    });
    const anon = open(hub, { anonymous: true });
    hub.publish(cleared());
    await vi.advanceTimersByTimeAsync(0);
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'error', msg: 'queue_status failed', error: 'db down' }),
    );
    fail = false;
    hub.publish(cleared());
    await vi.advanceTimersByTimeAsync(250);
    expect((await anon.sse.untilEvent('queue_status')).map((f) => f.event)).toEqual([
      undefined,
      'connected',
      'queue_cleared',
      'queue_cleared',
      'queue_status',
    ]);
  });
});

describe('nothing is left behind', () => {
  it('stats() shows no channel, connection or timer once everybody has gone and nothing was published', async ({
    makeHub,
    open,
  }) => {
    const hub = makeHub();
    expect(hub.stats()).toEqual({ channels: 0, connections: 0, timers: 0 });
    const opened = [
      open(hub, { user: 'a' }),
      open(hub, { user: 'a' }),
      open(hub, { user: 'b' }),
      open(hub, { user: 'admin', admin: true }),
      open(hub, { anonymous: true }),
      open(hub, { anonymous: true }),
    ];
    expect(hub.stats()).toEqual({ channels: 4, connections: 6, timers: 1 });
    for (const [i, s] of opened.entries()) {
      await s.sse.close();
      expect(hub.stats().connections).toBe(opened.length - i - 1);
    }
    expect(hub.stats()).toEqual({ channels: 0, connections: 0, timers: 0 });
    for (let i = 0; i < 200; i++) {
      const s = open(hub, { user: `u${i % 7}`, admin: i % 5 === 0, anonymous: i % 3 === 0 });
      await s.sse.close();
    }
    expect(hub.stats()).toEqual({ channels: 0, connections: 0, timers: 0 });
  });

  it('a channel kept for replay is dropped when its newest event leaves the window, and the tick stops', async ({
    makeHub,
    open,
    owned,
  }) => {
    const hub = makeHub({ limits: { minEvents: 1000, minAgeMs: 60_000, maxEvents: 10_000 } });
    const a = open(hub, { user: 'a' });
    hub.publish(owned('batch_enqueued', 'a'));
    await a.sse.untilEvent('batch_enqueued');
    await vi.advanceTimersByTimeAsync(0); // the queue_status
    await a.sse.close();
    expect(hub.stats()).toEqual({ channels: 1, connections: 0, timers: 1 });
    await vi.advanceTimersByTimeAsync(59_000);
    expect(hub.stats().channels).toBe(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(hub.stats()).toEqual({ channels: 0, connections: 0, timers: 0 });
  });

  it('close() ends every stream without auth_expired and stops every timer', async ({
    makeHub,
    open,
    owned,
    statusLoads,
  }) => {
    const hub = makeHub();
    const a = open(hub, { user: 'a', token: { sid: 's', exp: NOW_S + 60, epoch: 0 } });
    const anon = open(hub, { anonymous: true });
    hub.publish(owned('batch_enqueued', 'a'));
    expect(hub.stats().timers).toBe(2);
    hub.close();
    expect((await a.sse.untilEnd()).map((f) => f.event)).toEqual([undefined, 'connected', 'batch_enqueued']);
    expect((await anon.sse.untilEnd()).map((f) => f.event)).toEqual([undefined, 'connected']);
    expect(hub.stats()).toMatchObject({ connections: 0, timers: 0 });
    // What comes after (in logged mode, a commit's status that lands during shutdown) starts no timer:
    // nothing reads the database, which the entry closes next.
    hub.publish(owned('batch_enqueued', 'a'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(hub.stats().timers).toBe(0);
    expect(statusLoads).toEqual([]);
  });
});

describe('revocation and expiry', () => {
  const token = (sid: string, epoch = 0, exp = NOW_S + 86_400) => ({ sid, exp, epoch });

  it('closeSession ends that login session’s streams only; closeUser those of older epochs, or all', async ({
    makeHub,
    open,
  }) => {
    const hub = makeHub();
    const a1 = open(hub, { user: 'a', token: token('j1') });
    const a1b = open(hub, { user: 'a', token: token('j1') });
    const a2 = open(hub, { user: 'a', token: token('j2') });
    const a3 = open(hub, { user: 'a', token: token('j3', 1) });
    const b = open(hub, { user: 'b', token: token('j4') });
    const anon = open(hub, { anonymous: true });
    const ended = async (s: { sse: SseReader; info: ConnectionInfo }, reason = 'token_revoked') =>
      expect(await s.sse.untilEnd()).toEqual([RETRY, connected(s.info), authExpired(reason)]);

    hub.closeSession('j1');
    await ended(a1);
    await ended(a1b);
    expect(hub.stats().connections).toBe(4);
    hub.closeUser('a', 1);
    await ended(a2);
    expect(hub.stats().connections).toBe(3);
    hub.closeUser('a');
    await ended(a3);
    hub.closeSession('unknown');
    hub.closeUser('c');
    hub.publish(cleared());
    for (const s of [b, anon]) {
      expect((await s.sse.untilEvent('queue_cleared')).map((f) => f.event)).toEqual([
        undefined,
        'connected',
        'queue_cleared',
      ]);
    }
    expect(hub.stats().connections).toBe(2);
  });

  it('a stream ends with auth_expired {reason: token_expired} within a second of its token’s exp', async ({
    makeHub,
    open,
  }) => {
    const hub = makeHub();
    const s = open(hub, { user: 'a', token: token('j', 0, NOW_S + 3) });
    const longer = open(hub, { user: 'a', token: token('k', 0, NOW_S + 30) });
    await vi.advanceTimersByTimeAsync(2000);
    expect(s.conn.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.conn.closed).toBe(true);
    expect(await s.sse.untilEnd()).toEqual([RETRY, connected(s.info), authExpired('token_expired')]);
    expect(longer.conn.closed).toBe(false);
    expect(hub.stats().connections).toBe(1);
  });

  it('a stream whose token was revoked between its authentication and its connect ends at once', async ({
    makeHub,
    open,
  }) => {
    const hub = makeHub();
    hub.closeSession('j1'); // logout
    hub.closeUser('a', 2); // password change, demotion: epoch 2 from now on
    hub.closeUser('gone'); // deletion
    for (const o of [
      { user: 'b', token: token('j1') },
      { user: 'a', token: token('j2', 1) },
      { user: 'gone', token: token('j3', 7) },
    ]) {
      const s = open(hub, o);
      expect(s.conn.closed).toBe(true);
      expect(await s.sse.untilEnd()).toEqual([RETRY, connected(s.info), authExpired('token_revoked')]);
    }
    expect(hub.stats()).toEqual({ channels: 0, connections: 0, timers: 0 });
    expect(open(hub, { user: 'a', token: token('j4', 2) }).conn.closed).toBe(false);
    expect(open(hub, { anonymous: true }).conn.closed).toBe(false);
    // Remembered for a minute, which covers the race; later the database check refuses such a token.
    vi.setSystemTime(T0 + 61_000);
    expect(open(hub, { user: 'b', token: token('j1') }).conn.closed).toBe(false);
  });

  it('a demoted user’s reconnect never replays the copies received as an admin', async ({
    makeHub,
    open,
    owned,
  }) => {
    const hub = makeHub();
    const asAdmin = open(hub, { user: 'm', admin: true });
    const own = owned('batch_enqueued', 'm');
    hub.publish(own);
    hub.publish(owned('invocation_progress', 'b'));
    const seen = await asAdmin.sse.untilEvent('invocation_progress');
    const ownId = idOf(seen, 0);
    await asAdmin.sse.close();

    // With the id of its own event (before the copy): resync, never the copy of b's event.
    const demoted = open(hub, { user: 'm', admin: false, lastEventId: ownId });
    hub.publish(owned('invocation_complete', 'b'));
    hub.publish(cleared());
    expect(await demoted.sse.untilEvent('queue_cleared')).toEqual([
      RETRY,
      connected(demoted.info),
      RESYNC,
      frameOf(cleared(), expect.any(String)),
    ]);
    // Nor with no id, nor by the old admin channel's ids.
    await demoted.sse.close();
    const fresh = open(hub, { user: 'm', admin: false, lastEventId: idOf(seen, 1) });
    hub.publish(cleared());
    expect((await fresh.sse.untilEvent('queue_cleared')).map((f) => f.event)).toEqual([
      undefined,
      'connected',
      'resync',
      'queue_cleared',
    ]);
    expect(fresh.sse.text).not.toContain('batch-of-b');
  });

  it('a user whose rights changed while a tab is open: the old tab ends, the new one starts clean', async ({
    makeHub,
    open,
    owned,
  }) => {
    const hub = makeHub();
    const oldTab = open(hub, { user: 'm', admin: true });
    hub.publish(owned('invocation_progress', 'b'));
    await oldTab.sse.untilEvent('invocation_progress');
    const newTab = open(hub, { user: 'm', admin: false, lastEventId: idOf(oldTab.sse.frames, 0) });
    expect(oldTab.conn.closed).toBe(true);
    hub.publish(owned('invocation_progress', 'b'));
    hub.publish(cleared());
    expect((await newTab.sse.untilEvent('queue_cleared')).map((f) => f.event)).toEqual([
      undefined,
      'connected',
      'resync',
      'queue_cleared',
    ]);
    expect(newTab.sse.text).not.toContain('batch-of-b');
    expect(hub.stats()).toMatchObject({ channels: 1, connections: 1 });
  });
});

describe('pings', () => {
  it('an idle stream gets `: ping` 15 s after it opened, then every 15 s: never silent longer', async ({
    makeHub,
    open,
  }) => {
    const hub = makeHub();
    // Streams opened at different moments, between ticks too: each is pinged on its own time.
    const idle: ReturnType<typeof open>[] = [];
    const openedAt: number[] = [];
    for (let i = 0; i < 6; i++) {
      idle.push(open(hub, { user: `idle${i}` }));
      openedAt.push(Date.now());
      await vi.advanceTimersByTimeAsync(i % 2 === 0 ? 700 : 1900);
    }
    // An idle stream is written to only by pings: a moved lastWriteAt is a ping at that time.
    const lastWrite = idle.map((c) => c.conn.lastWriteAt);
    const pingsAt: number[][] = idle.map(() => []);
    for (let s = 1; s <= 50; s++) {
      await vi.advanceTimersByTimeAsync(1000);
      for (const [i, c] of idle.entries()) {
        if (c.conn.lastWriteAt !== lastWrite[i]) {
          lastWrite[i] = c.conn.lastWriteAt;
          pingsAt[i]?.push(c.conn.lastWriteAt);
        }
      }
    }
    for (const [i, at] of pingsAt.entries()) {
      const silences = [at[0] as number, ...at.slice(1)].map(
        (t, j) => t - (j === 0 ? (openedAt[i] as number) : (at[j - 1] as number)),
      );
      // Pinged in the last second before 15 s of silence, each time (ticks are 1 s apart).
      expect(
        silences.every((gap) => gap > 14_000 && gap <= 15_000),
        JSON.stringify(silences),
      ).toBe(true);
      expect(at.length).toBe(3);
    }
    hub.close();
    for (const [i, c] of idle.entries()) {
      expect(await c.sse.untilEnd()).toEqual([
        RETRY,
        connected(c.info),
        ...(pingsAt[i] ?? []).map(() => ({ comment: 'ping' })),
      ]);
    }
  });

  it('a stream that gets an event at least every 15 s gets no ping', async ({ makeHub, open }) => {
    const hub = makeHub();
    const streams = Array.from({ length: 20 }, (_, i) =>
      open(hub, { user: `u${i}`, anonymous: i % 2 === 0 }),
    );
    for (let s = 1; s <= 60; s++) {
      if (s % 14 === 0) {
        hub.publish(cleared()); // and its queue_status
      }
      await vi.advanceTimersByTimeAsync(1000);
    }
    hub.close();
    for (const c of streams) {
      const frames = await c.sse.untilEnd();
      expect(frames.filter((f) => f.comment !== undefined)).toEqual([]);
      expect(c.sse.names().filter((n) => n === 'queue_cleared')).toHaveLength(4);
    }
  });
});
