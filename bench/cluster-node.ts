/**
 * One Easel process of the cluster benchmark (bench/cluster.ts forks it with `node --import tsx`): the Node
 * entry's parts (`buildDeps` on PostgreSQL with LISTEN/NOTIFY, `createApp`, `@hono/node-server`, the node
 * stream sinks), with one difference: each `DEVICES` entry's runtime is a fake whose denoise step takes a
 * fixed `BENCH_ITEM_MS` (a GPU's time, not this machine's CPU) instead of an inference child. Images are
 * encoded with sharp as in production and kept in memory. Driven over IPC; see bench/README.md.
 */
import { serve } from '@hono/node-server';
import { createApp } from '../src/app.ts';
import { buildDeps, startWorkers } from '../src/boot.ts';
import { createJsonLogger } from '../src/core/logger.ts';
import { parseEnv } from '../src/env.ts';
import { MemoryBlobStore } from '../src/images/memory-blob-store.ts';
import { nodeFiles } from '../src/node/boot.ts';
import { openPostgres } from '../src/node/postgres-client.ts';
import { nodeStreamSinks } from '../src/node/response-sink.ts';
import { sharpCodec } from '../src/node/sharp-images.ts';
import { FakeRuntime } from '../src/runtime/fake-runtime.ts';
import { claimNext } from '../src/worker/claim.ts';
import type { WorkerSpec } from '../src/worker/pool.ts';
import type { NodeCommand, NodeReply } from './cluster-protocol.ts';

const env = parseEnv(process.env);
const itemMs = Number(process.env.BENCH_ITEM_MS ?? '50');
const withLog = process.env.BENCH_LOG !== '0';
const startPool = process.env.BENCH_WORKERS_START === '1';
const logger = createJsonLogger({ level: 'warn', write: (line) => process.stderr.write(`${line}\n`) });
const send = (reply: NodeReply) => process.send?.(reply);

// A small pool: up to five processes share the dev server's 100 connections with other work.
const database = openPostgres(env.DATABASE_URL ?? '', { max: 5 });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const workers: WorkerSpec[] = (env.ROLE === 'api' ? [] : env.DEVICES).map((device) => ({
  device,
  // The graph has one denoise step: the item's whole "GPU" time is spent there.
  runtime: new FakeRuntime({ beforeStep: () => sleep(itemMs) }),
}));
const { deps, pool } = await buildDeps({
  env,
  database,
  files: nodeFiles,
  ...(withLog ? { notifier: database.notifier } : {}),
  logger,
  projectRoot: new URL('../', import.meta.url).pathname,
  persistSecret: false,
  clientAddress: () => undefined,
  images: sharpCodec(),
  blobs: new MemoryBlobStore(),
  streamSinks: nodeStreamSinks(),
  workers,
});
const app = createApp(deps);
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
await new Promise<void>((resolve) => server.once('listening', () => resolve()));
const address = server.address();
const port = typeof address === 'object' && address ? address.port : 0;
const sweeper = startPool
  ? await startWorkers(
      deps,
      pool,
      workers.map((w) => w.runtime),
      env.LEASE_SECONDS,
    )
  : null;

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes of one machine. */
const wallMs = () => performance.timeOrigin + performance.now();

/**
 * Publishes `count` owned `invocation_progress` events at `rate` per second (in bursts on a 1 ms timer, so
 * the schedule holds whatever the timer's granularity), each carrying its publish time in `t`.
 */
async function publishAt(ownerId: string, rate: number, seconds: number): Promise<number> {
  const count = Math.round(rate * seconds);
  const start = performance.now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
    for (; sent < due; sent++) {
      deps.channels.publish({
        name: 'invocation_progress',
        queueId: 'default',
        ownerId,
        data: {
          queue_id: 'default',
          item_id: 0,
          session_id: 'bench',
          invocation: { id: 'denoise', type: 'denoise_latents' },
          percentage: sent / count,
          image: null,
          message: `event ${sent}`,
          seq: sent,
          t: wallMs(),
        },
      });
    }
    await sleep(1);
  }
  await deps.channels.appended?.();
  return sent;
}

/** Claims per claimer not counted (see `claimLoops`). */
const WARM_UP_CLAIMS = 2;

/**
 * `loops` claimers at once on this process's pool for `seconds`, each claiming in a loop, with `workMs` of
 * "work" after each claim (a worker running its item) or none (claims back to back).
 */
async function claimLoops(
  loops: number,
  seconds: number,
  fairness: 'round_robin' | 'fifo',
  tag: string,
  workMs: number,
) {
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  let empty = 0;
  await Promise.all(
    Array.from({ length: loops }, async (_, i) => {
      // A claimer's first claims prepare the statement on its connection (parse, plan, the catalog reads):
      // a worker pays that once in its life, so they are not counted.
      let warm = 0;
      while (performance.now() < until) {
        const t = performance.now();
        const row = await claimNext(deps.db, {
          queueId: 'default',
          fairness,
          workerId: `${tag}/${i}:cpu`,
          device: 'cpu',
          now: new Date(),
          leaseSeconds: 3600,
        });
        if (warm++ >= WARM_UP_CLAIMS) {
          latencies.push(performance.now() - t);
        }
        if (!row) {
          empty++;
        }
        if (workMs > 0) {
          await sleep(workMs);
        }
      }
    }),
  );
  return { latencies, empty };
}

async function stop(): Promise<void> {
  deps.channels.close();
  server.close();
  await pool?.close();
  await sweeper?.close();
  await Promise.race([
    (async () => {
      await deps.revocations?.stop();
      await deps.channels.shutdown();
      await database.close();
    })(),
    sleep(5000),
  ]);
}

process.on('message', (msg: NodeCommand) => {
  void (async () => {
    try {
      switch (msg.cmd) {
        case 'publish': {
          const sent = await publishAt(msg.ownerId, msg.rate, msg.seconds);
          send({ reply: 'published', sent });
          break;
        }
        case 'claims': {
          const r = await claimLoops(msg.loops, msg.seconds, msg.fairness, msg.tag, msg.workMs);
          send({ reply: 'claimed', latencies: r.latencies, empty: r.empty });
          break;
        }
        case 'cpu': {
          const used = process.cpuUsage();
          send({ reply: 'cpu', ms: (used.user + used.system) / 1000 });
          break;
        }
        case 'stop': {
          await stop();
          send({ reply: 'stopped' });
          process.exit(0);
        }
      }
    } catch (err) {
      send({ reply: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  })();
});
send({ reply: 'ready', port, workerIds: pool?.workerIds ?? [] });
