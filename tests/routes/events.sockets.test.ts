import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readableSinks } from '../../src/http/readable-sink.ts';
import type { StreamSinks } from '../../src/http/stream-sinks.ts';
import { nodeStreamSinks } from '../../src/node/response-sink.ts';
import { createHarness, type Harness, type TestUser } from '../helpers/harness.ts';
import { SseReader } from '../helpers/sse.ts';

// Real sockets, for what only the network shows: a client that goes away, and one that stops reading. Every
// test runs on both transports: the portable `ReadableStream` body and Node's direct writes to the response
// (what the Node entry uses). The hub lets a reader fall 50 frames behind, and keeps at most 100 events per
// channel for replay.
const MAX_QUEUED = 50;

describe.each<[string, () => StreamSinks]>([
  ['the ReadableStream sink', () => readableSinks],
  ["Node's response sink", nodeStreamSinks],
])('over a real socket, with %s', (_name, sinks) => {
  let h: Harness;
  let server: ServerType;
  let base: string;
  let users: TestUser[];
  const aborts: AbortController[] = [];

  beforeAll(async () => {
    h = await createHarness({
      hub: { maxQueued: MAX_QUEUED, limits: { minEvents: 10, minAgeMs: 60_000, maxEvents: 100 } },
      deps: { streamSinks: sinks() },
    });
    users = [await h.createUser(), await h.createUser(), await h.createUser({ isAdmin: true })];
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const ac of aborts) {
      ac.abort();
    }
    // Kept-alive sockets would hold close() for their idle timeout.
    (server as import('node:http').Server).closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await h.close();
  });

  /** Polls `ready` on every turn of the event loop (no fixed sleep) until it holds or the deadline passes. */
  async function waitFor(ready: () => boolean, what: string, deadlineMs = 5000): Promise<void> {
    const end = performance.now() + deadlineMs;
    while (!ready()) {
      if (performance.now() > end) {
        throw new Error(`not within ${deadlineMs} ms: ${what}; stats ${JSON.stringify(h.channels.stats())}`);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Opens the stream over a real socket with fetch and reads up to `connected`. */
  async function connect(token?: string) {
    const ac = new AbortController();
    aborts.push(ac);
    const res = await fetch(`${base}/api/v1/events`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    const sse = new SseReader(res.body);
    await sse.untilEvent('connected');
    return { res, sse, ac };
  }

  /** The garbage collector, exposed at run time when node was not started with --expose-gc. */
  function collector(): () => void {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) {
      return exposed;
    }
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  }

  /** Heap plus array buffers (the queued frames are Uint8Arrays), after a full collection. */
  function memoryInUse(gc: () => void): number {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  }

  it('a client that aborts releases its subscription, and nothing is left', async () => {
    const { res, sse, ac } = await connect(users[0]?.token);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(sse.frames).toEqual([
      { retry: 3000 },
      {
        event: 'connected',
        data: { connection_id: expect.any(String), user_id: users[0]?.user.user_id, is_admin: false },
      },
    ]);
    expect(h.channels.stats()).toEqual({ channels: 1, connections: 1, timers: 1 });
    ac.abort();
    await waitFor(() => h.channels.stats().connections === 0, 'the connection released');
    expect(h.channels.stats()).toEqual({ channels: 0, connections: 0, timers: 0 });
  });

  it('300 connect/abort cycles, 20 at once, leave no connection, timer or channel behind', {
    timeout: 60_000,
  }, async () => {
    const cycles = 300;
    const parallel = 20;
    let done = 0;
    let peak = 0;
    const worker = async (w: number) => {
      for (let i = w; i < cycles; i += parallel) {
        const who = i % 4 === 3 ? undefined : users[i % 3]?.token; // users, an admin, and anonymous
        const { ac } = await connect(who);
        peak = Math.max(peak, h.channels.stats().connections);
        ac.abort();
        done++;
      }
    };
    await Promise.all(Array.from({ length: parallel }, (_, w) => worker(w)));
    expect(done).toBe(cycles);
    expect(peak).toBeGreaterThan(1);
    await waitFor(() => h.channels.stats().connections === 0, 'every connection released');
    expect(h.channels.stats()).toEqual({ channels: 0, connections: 0, timers: 0 });
  });

  it('a client that stops reading is disconnected at the bound, and the heap stays flat', {
    timeout: 60_000,
  }, async () => {
    const gc = collector();
    const slow = users[1] as TestUser;
    await connect(slow.token); // from here on, nothing reads this response
    const payload = 'x'.repeat(64 * 1024);
    const progress = (n: number) =>
      h.channels.publish({
        name: 'invocation_progress',
        queueId: 'default',
        ownerId: slow.user.user_id,
        data: { item_id: n, user_id: slow.user.user_id, image: { dataURL: payload, width: 64, height: 64 } },
      });

    // Publish 64 KB events, letting the server write between them, until the hub lets go of the stream:
    // the socket buffers fill, the server stops pulling, and the stream's queue reaches the bound.
    let published = 0;
    while (h.channels.stats().connections > 0 && published < 5000) {
      progress(published++);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(h.channels.stats().connections).toBe(0);
    expect(published).toBeLessThan(5000);
    expect(h.logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'event stream too far behind: disconnected',
        user_id: slow.user.user_id,
      }),
    );

    // 500 more (32 MB) after the disconnect: nothing of them is queued for the slow client.
    h.events.clear();
    const atDisconnect = memoryInUse(gc);
    for (let i = 0; i < 500; i++) {
      progress(published++);
      if (i % 10 === 0) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    h.events.clear();
    const after = memoryInUse(gc);
    expect(after - atDisconnect).toBeLessThan(8 * 1024 * 1024);
  });
});
