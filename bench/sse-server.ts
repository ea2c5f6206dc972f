/**
 * One server of the SSE benchmark, in a process of its own (so its memory is its own): `easel` (the app's
 * GET /api/v1/events on @hono/node-server, the ChannelHub), `socketio` (Socket.IO with a room per user and
 * one for admins) or `bare` (node:http writing the same SSE frames straight to the responses). All three
 * authenticate bearer tokens with the app's `authenticate` on the same in-memory PGlite database, listen on
 * 127.0.0.1 only, and publish at the rate the conductor asks. Started by bench/sse.ts; see bench/README.md.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { serve as serveNode } from '@hono/node-server';
import { Server as IoServer } from 'socket.io';
import { createApp } from '../src/app.ts';
import { buildDeps } from '../src/boot.ts';
import { sseFrame } from '../src/channels/frames.ts';
import type { AuthUser } from '../src/core/actor.ts';
import { createJsonLogger } from '../src/core/logger.ts';
import type { AppDeps } from '../src/deps.ts';
import { contextFromDeps } from '../src/deps.ts';
import { parseEnv } from '../src/env.ts';
import { bearerToken } from '../src/http/middleware/auth.ts';
import { MemoryBlobStore } from '../src/images/memory-blob-store.ts';
import { unavailableCodec } from '../src/images/unavailable-codec.ts';
import { nodeFiles } from '../src/node/boot.ts';
import { nodeStreamSinks } from '../src/node/response-sink.ts';
import { authenticate } from '../src/services/auth/authenticate.ts';
import { pbkdf2Hasher } from '../src/services/auth/passwords.ts';
import { createUser } from '../src/services/users/index.ts';
import { openTestDatabase } from '../tests/helpers/database.ts';
import {
  clock,
  EVENT_NAME,
  type Kind,
  type LevelRequest,
  type LevelResult,
  type Memory,
  type ServerConfig,
  type ServerReady,
  serve,
} from './sse-protocol.ts';

const kind = process.argv[2] as Kind;
const config = JSON.parse(process.argv[3] ?? '{}') as ServerConfig;
const QUEUE = 'default';
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  throw new Error('start with --expose-gc');
}

// ---- the app's deps on a fresh in-memory database, built as the Node entry builds them ------------------
const setupStart = performance.now();
const database = await openTestDatabase('pglite');
const logger = createJsonLogger({ level: 'error', write: () => {} });
const { deps: booted } = await buildDeps({
  env: parseEnv({ JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123', MODELS_DIR: '/nonexistent' }),
  database,
  files: nodeFiles,
  logger,
  projectRoot: new URL('../', import.meta.url).pathname,
  persistSecret: false,
  clientAddress: () => undefined,
  images: unavailableCodec,
  blobs: new MemoryBlobStore(),
  // The Node entry's transport (src/node/boot.ts): frames written straight to the responses.
  streamSinks: nodeStreamSinks(),
  hub: {
    // queue_status is coalesced to at most one per queue per interval and goes to every connection; an
    // hour keeps it out of the measurement (which is owned-event fan-out), see bench/README.md.
    statusIntervalMs: 3_600_000,
    // Diagnosis only: no replay history (not Easel's behaviour), to see what keeping it costs.
    ...(process.env.BENCH_SSE_DIAG_NO_REPLAY ? { limits: { minEvents: 0, minAgeMs: 0, maxEvents: 1 } } : {}),
  },
});
// Fewer hashing rounds, only so that creating 505 accounts is quick; nothing measured hashes a password.
const deps: AppDeps = { ...booted, passwords: pbkdf2Hasher(1000) };
const hub = deps.channels;

const userIds: string[] = [];
const tokens: string[] = [];
const setupCtx = contextFromDeps(deps, 'bench-setup', null);
for (let i = 0; i < config.admins + config.users; i++) {
  const isAdmin = i < config.admins;
  const user = await createUser({
    ctx: setupCtx,
    input: {
      email: `${isAdmin ? 'admin' : 'user'}${i}@example.com`,
      password: 'bench password',
      is_admin: isAdmin,
    },
  });
  userIds.push(user.user_id);
  const { token } = await deps.tokens.issue(
    { userId: user.user_id, email: user.email, isAdmin, epoch: 0 },
    false,
  );
  tokens.push(token);
}
const authCtx = contextFromDeps(deps, 'bench-auth', null);
const authOf = (header: string | undefined): Promise<AuthUser> => {
  const token = bearerToken(header);
  if (!token) {
    throw new Error('no bearer token');
  }
  return authenticate({ ctx: authCtx, input: { token } });
};

// ---- the three servers ---------------------------------------------------------------------------------
interface Target {
  server: Server;
  publish(ownerId: string, data: Record<string, unknown>): void;
  connections(): number;
  close(): Promise<void>;
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (server.listening) {
      resolve();
    } else {
      server.once('listening', () => resolve());
    }
  });
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

async function easel(): Promise<Target> {
  const app = createApp(deps);
  const server = serveNode({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
  await listen(server);
  return {
    server,
    publish: (ownerId, data) => hub.publish({ name: EVENT_NAME, queueId: QUEUE, ownerId, data }),
    connections: () => hub.stats().connections,
    close: async () => {
      hub.close();
      await closeServer(server);
    },
  };
}

async function socketio(): Promise<Target> {
  const server = createServer();
  const io = new IoServer(server, {
    serveClient: false,
    transports: ['websocket'],
    perMessageDeflate: false,
  });
  io.use((socket, next) => {
    authOf(`Bearer ${String(socket.handshake.auth.token)}`).then(
      (user) => {
        socket.data.user = user;
        next();
      },
      (err: unknown) => next(err as Error),
    );
  });
  io.on('connection', (socket) => {
    const user = socket.data.user as AuthUser;
    socket.join(`u:${user.userId}`);
    if (user.isAdmin) {
      socket.join('admins');
    }
  });
  server.listen(0, '127.0.0.1');
  await listen(server);
  return {
    server,
    publish: (ownerId, data) => {
      io.to([`u:${ownerId}`, 'admins']).emit(EVENT_NAME, { ...data, queue_id: QUEUE });
    },
    connections: () => io.engine.clientsCount,
    close: async () => {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}

/** The floor: one channel per user (numbered frames, like Easel's), frames encoded once, written directly. */
async function bare(): Promise<Target> {
  interface Channel {
    nonce: string;
    seq: number;
    conns: Set<ServerResponse>;
  }
  const channels = new Map<string, Channel>();
  const admins = new Set<string>();
  let open = 0;
  const channelOf = (userId: string) => {
    let ch = channels.get(userId);
    if (!ch) {
      ch = { nonce: crypto.randomUUID().slice(0, 8), seq: 0, conns: new Set() };
      channels.set(userId, ch);
    }
    return ch;
  };
  const send = (ch: Channel | undefined, data: unknown) => {
    if (!ch || ch.conns.size === 0) {
      return;
    }
    ch.seq++;
    const frame = Buffer.from(sseFrame(EVENT_NAME, data, `${ch.nonce}-${ch.seq}`));
    for (const res of ch.conns) {
      res.write(frame);
    }
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith('/api/v1/events')) {
      res.writeHead(404).end();
      return;
    }
    authOf(req.headers.authorization).then(
      (user) => {
        if (res.destroyed) {
          return;
        }
        const ch = channelOf(user.userId);
        if (user.isAdmin) {
          admins.add(user.userId);
        }
        res.writeHead(200, {
          'Content-Type': 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-cache, no-transform',
          'X-Accel-Buffering': 'no',
        });
        res.write('retry: 3000\n\n');
        res.write(
          sseFrame('connected', {
            connection_id: crypto.randomUUID(),
            user_id: user.userId,
            is_admin: user.isAdmin,
          }),
        );
        ch.conns.add(res);
        open++;
        res.on('close', () => {
          ch.conns.delete(res);
          open--;
        });
      },
      () => res.writeHead(401).end(),
    );
  });
  server.listen(0, '127.0.0.1');
  await listen(server);
  return {
    server,
    publish: (ownerId, data) => {
      const body = { ...data, queue_id: QUEUE };
      send(channels.get(ownerId), body);
      for (const admin of admins) {
        if (admin !== ownerId) {
          send(channels.get(admin), body);
        }
      }
    },
    connections: () => open,
    close: () => closeServer(server),
  };
}

const target = await { easel, socketio, bare }[kind]();

// ---- the publisher -------------------------------------------------------------------------------------
/** Fan-out of an event owned by user index i: the owner's tabs plus every admin's (owners are not admins). */
let fanout: number[] = [];
let nextOwner = 0;

/** A realistic invocation_progress (API.md section 5) without the preview image; `sent_at` is added per event. */
const base = userIds.map((userId) => ({
  item_id: 0,
  batch_id: crypto.randomUUID(),
  session_id: crypto.randomUUID(),
  user_id: userId,
  invocation: { id: 'denoise', type: 'denoise_latents' },
  invocation_source_id: 'denoise',
  total_steps: 30,
  message: 'Denoising',
  image: null,
}));

/**
 * Publishes `eventsPerSec` for warm + measure ms. Event i is due at start + i/rate; `sent_at` is that due
 * time, so a publisher that falls behind shows as latency (no coordinated omission).
 */
function runLevel(level: LevelRequest): Promise<LevelResult> {
  const { eventsPerSec, warmMs, measureMs } = level;
  const total = Math.round((eventsPerSec * (warmMs + measureMs)) / 1000);
  const start = clock() + 5;
  const t0 = start + warmMs;
  const t1 = t0 + measureMs;
  const owners = fanout.length - config.admins;
  let sent = 0;
  let expected = 0;
  let maxLagMs = 0;
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const wall0 = performance.now();
  const ticks0 = process.env.BENCH_SSE_DEBUG ? threadTicks() : undefined;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  return new Promise((resolve) => {
    const tick = () => {
      const now = clock();
      const due = Math.min(total, Math.floor(((now - start) * eventsPerSec) / 1000) + 1);
      if (sent < due) {
        maxLagMs = Math.max(maxLagMs, now - (start + (sent * 1000) / eventsPerSec));
      }
      while (sent < due) {
        const at = start + (sent * 1000) / eventsPerSec;
        const owner = config.admins + (nextOwner++ % owners);
        const step = sent % 30;
        const b = base[owner];
        target.publish(userIds[owner] as string, {
          sent_at: at,
          ...b,
          item_id: sent,
          step,
          percentage: step / 30,
        });
        if (at >= t0 && at < t1) {
          expected += fanout[owner] ?? 0;
        }
        sent++;
      }
      if (sent < total) {
        setTimeout(tick, 1);
      } else {
        const cpu = process.cpuUsage(cpu0);
        delay.disable();
        if (ticks0) {
          const parts: string[] = [];
          for (const [k, [u, sy]] of threadTicks()) {
            const [u0, s0] = ticks0.get(k) ?? [0, 0];
            if (u - u0 + sy - s0 > 0) {
              parts.push(`${k}: ${(u - u0) * 10}+${(sy - s0) * 10} ms`);
            }
          }
          console.error(`[server] threads (user+system): ${parts.join(', ')}`);
        }
        resolve({
          loopDelayP99Ms: delay.percentile(99) / 1e6,
          loopDelayMaxMs: delay.max / 1e6,
          t0,
          t1,
          expected,
          published: sent,
          cpuMs: (cpu.user + cpu.system) / 1000,
          elu: performance.eventLoopUtilization(elu0).utilization,
          maxLagMs,
          wallMs: performance.now() - wall0,
        });
      }
    };
    setTimeout(tick, 5);
  });
}

if (process.env.BENCH_SSE_DEBUG) {
  // Diagnosis: every GC pause over 15 ms, and every event-loop stall over 30 ms, with their time.
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.duration > 8) {
        console.error(`[server] gc ${e.duration.toFixed(1)} ms at ${e.startTime.toFixed(0)}`);
      }
    }
  }).observe({ entryTypes: ['gc'] });
  // Twice a second: the sockets holding bytes the kernel has not taken yet, and the process's memory.
  const sockets = new Set<Socket>();
  target.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  setInterval(() => {
    setImmediate(() => {
      let waiting = 0;
      let bytes = 0;
      for (const socket of sockets) {
        if (socket.writableLength > 0) {
          waiting++;
          bytes += socket.writableLength;
        }
      }
      if (waiting > 0) {
        console.error(`[server] ${waiting} of ${sockets.size} sockets with unsent bytes (${bytes} B)`);
      }
      const m = process.memoryUsage();
      console.error(
        `[server] at ${performance.now().toFixed(0)}: heapUsed ${(m.heapUsed / 1e6).toFixed(1)} MB, external ${(m.external / 1e6).toFixed(1)} MB, arrayBuffers ${(m.arrayBuffers / 1e6).toFixed(1)} MB`,
      );
    });
  }, 500).unref();
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 30) {
      console.error(`[server] loop stalled ${(now - last).toFixed(0)} ms, until ${now.toFixed(0)}`);
    }
    last = now;
  }, 1).unref();
}

/** Diagnosis (Linux): CPU ticks (user, system) of each thread of this process. */
function threadTicks(): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  try {
    for (const t of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim();
      out.set(`${t} ${name}`, [Number(f[11]), Number(f[12])]);
    }
  } catch {
    // not Linux
  }
  return out;
}

function memory(): Memory {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

serve(async (req) => {
  switch (req.type) {
    case 'plan': {
      const adminTabs = req.tabs.slice(0, config.admins).reduce((a, b) => a + b, 0);
      fanout = req.tabs.map((t, i) => (i < config.admins ? t : t + adminTabs));
      return null;
    }
    case 'memory': {
      await new Promise((r) => setTimeout(r, 500));
      const m = memory();
      if (process.env.BENCH_SSE_HEAPSNAP) {
        (await import('node:v8')).writeHeapSnapshot(`/tmp/snap-${kind}-${Date.now()}.heapsnapshot`);
      }
      return m;
    }
    case 'clock':
      return clock();
    case 'count':
      return target.connections();
    case 'level': {
      if (!process.env.BENCH_SSE_HEAPPROF) {
        return runLevel(req.level);
      }
      // Diagnosis: what the level allocates that outlives young collections (live, or collected by a major
      // one), sampled by V8's heap profiler and written next to the heap snapshots.
      const { Session } = await import('node:inspector/promises');
      const session = new Session();
      session.connect();
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 1024,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: false,
      });
      const result = await runLevel(req.level);
      const { profile } = await session.post('HeapProfiler.stopSampling');
      (await import('node:fs')).writeFileSync(
        `/tmp/heapprof-${kind}-${Date.now()}.heapprofile`,
        JSON.stringify(profile),
      );
      session.disconnect();
      return result;
    }
    case 'exit':
      await Promise.race([target.close(), new Promise((r) => setTimeout(r, 3000))]);
      await Promise.race([database.close(), new Promise((r) => setTimeout(r, 2000))]);
      setImmediate(() => process.exit(0));
      return null;
    default:
      throw new Error(`server: unexpected ${req.type}`);
  }
});

process.send?.({
  ready: true,
  port: (target.server.address() as AddressInfo).port,
  tokens,
  setupMs: performance.now() - setupStart,
} satisfies ServerReady);
