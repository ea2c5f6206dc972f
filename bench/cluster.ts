/**
 * Cluster benchmark (issue 14): several Easel processes on one PostgreSQL. Real OS processes
 * (bench/cluster-node.ts, forked with `node --import tsx`) on a fresh database that is dropped at the end.
 * Run: `npm run bench:cluster` (about 5 minutes) or `npm run bench:cluster -- --quick` (a smoke run).
 * Writes bench/results/cluster.md (bench/results/cluster-quick.md with --quick). See bench/README.md.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { buildDeps } from '../src/boot.ts';
import { prune } from '../src/channels/channel-log.ts';
import { ChannelHub } from '../src/channels/hub.ts';
import type { AuthUser } from '../src/core/actor.ts';
import { systemClock } from '../src/core/clock.ts';
import type { ServiceContext } from '../src/core/context.ts';
import { createJsonLogger } from '../src/core/logger.ts';
import { rowsOf } from '../src/db/rows.ts';
import type { Database } from '../src/db/types.ts';
import { type AppDeps, contextFromDeps } from '../src/deps.ts';
import { parseEnv } from '../src/env.ts';
import { readableSinks } from '../src/http/readable-sink.ts';
import { MemoryBlobStore } from '../src/images/memory-blob-store.ts';
import { unavailableCodec } from '../src/images/unavailable-codec.ts';
import { nodeFiles } from '../src/node/boot.ts';
import { openPostgres } from '../src/node/postgres-client.ts';
import { queueStatusCounts } from '../src/queue/status-counts.ts';
import { pbkdf2Hasher } from '../src/services/auth/passwords.ts';
import { cancelItem } from '../src/services/queue/cancel-item.ts';
import { enqueueBatch } from '../src/services/queue/enqueue-batch.ts';
import { createUser } from '../src/services/users/index.ts';
import { claimCandidateQuery, setQueuePaused } from '../src/worker/claim.ts';
import { PG_ADMIN_URL } from '../tests/helpers/database.ts';
import { textToImageGraph } from '../tests/helpers/graphs.ts';
import type { NodeCommand, NodeReply } from './cluster-protocol.ts';
import { backendCpu, cpuSince } from './pg-cpu.ts';

// ---- settings -------------------------------------------------------------------------------------------
const QUICK = process.argv.includes('--quick');
const ADMIN_URL = process.env.BENCH_PG_URL ?? PG_ADMIN_URL;
const JWT_SECRET = 'bench-cluster-secret-bench-cluster-secret-0123';
const S = QUICK
  ? {
      rates: [100, 1000],
      levelS: 1.5,
      items: 200,
      users: 20,
      itemMs: 50,
      pending: 10_000,
      claimS: 2,
      costN: 40,
    }
  : {
      rates: [100, 1000, 3000],
      levelS: 4,
      items: 2000,
      users: 20,
      itemMs: 50,
      pending: 100_000,
      claimS: 4,
      costN: 200,
    };
const CLAIM_USERS = 50;
const RESULTS = new URL(QUICK ? './results/cluster-quick.md' : './results/cluster.md', import.meta.url);
const projectRoot = new URL('../', import.meta.url).pathname;

// ---- small helpers -------------------------------------------------------------------------------------
const log = (msg: string) => console.error(`[bench] ${msg}`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const wallMs = () => performance.timeOrigin + performance.now();
const loadNow = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Nearest-rank percentile (milliseconds). */
function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? Number.NaN;
}
interface Latency {
  p50: number;
  p99: number;
  max: number;
  n: number;
}
const latency = (s: number[]): Latency => ({
  p50: percentile(s, 50),
  p99: percentile(s, 99),
  max: Math.max(...s),
  n: s.length,
});
const fmtMs = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const fmtLat = (l: Latency) => `${fmtMs(l.p50)} / ${fmtMs(l.p99)} ms`;
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const verdict = (ok: boolean) => (ok ? '**met**' : '**not met**');

/** Jain's fairness index of a set of counts: 1 when equal, 1/n when one has everything. */
function jain(counts: number[]): number {
  const sum = counts.reduce((a, b) => a + b, 0);
  const squares = counts.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (counts.length * squares);
}

// ---- the database and the conductor's own deps ---------------------------------------------------------
interface Bench {
  name: string;
  url: string;
  admin: postgres.Sql;
  database: Database;
  deps: AppDeps;
  /** The same deps with an in-memory hub (no channel log): the "before" of the log's cost. */
  memoryHub: ChannelHub;
}

function envFor(url: string, vars: Record<string, string> = {}) {
  return {
    DATABASE_URL: url,
    JWT_SECRET,
    QUEUE_MAX_SIZE: '10000000',
    USER_MAX_PENDING: '10000000',
    LOG_LEVEL: 'warn',
    ...vars,
  };
}

async function openBench(): Promise<Bench> {
  const name = `easel_bench_${crypto.randomUUID().replaceAll('-', '')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const database = openPostgres(url, { max: 4 });
  const logger = createJsonLogger({ level: 'warn', write: (line) => process.stderr.write(`${line}\n`) });
  const env = parseEnv(envFor(url, { ROLE: 'api' }));
  const { deps } = await buildDeps({
    env,
    database,
    files: nodeFiles,
    notifier: database.notifier,
    logger,
    projectRoot,
    persistSecret: false,
    clientAddress: () => undefined,
    images: unavailableCodec,
    blobs: new MemoryBlobStore(),
    streamSinks: readableSinks,
  });
  const memoryHub = new ChannelHub({
    clock: systemClock,
    logger,
    loadQueueStatus: (queueId) => queueStatusCounts(database.db, queueId),
  });
  // Cheaper hashing, only so that creating the accounts is quick; nothing measured hashes a password.
  return { name, url, admin, database, deps: { ...deps, passwords: pbkdf2Hasher(1000) }, memoryHub };
}

interface BenchUser {
  actor: AuthUser;
  token: string;
}

async function createUsers(b: Bench, prefix: string, n: number, isAdmin = false): Promise<BenchUser[]> {
  const ctx = contextFromDeps(b.deps, 'bench-setup', null);
  const users: BenchUser[] = [];
  for (let i = 0; i < n; i++) {
    const user = await createUser({
      ctx,
      input: { email: `${prefix}${i}@example.com`, password: 'bench password', is_admin: isAdmin },
    });
    const { token } = await b.deps.tokens.issue(
      { userId: user.user_id, email: user.email, isAdmin, epoch: 0 },
      false,
    );
    users.push({
      actor: { userId: user.user_id, email: user.email, isAdmin, via: 'token', token: null },
      token,
    });
  }
  return users;
}

const ctxAs = (b: Bench, user: BenchUser, channels?: ChannelHub): ServiceContext => {
  const ctx = contextFromDeps(b.deps, 'bench', user.actor);
  return channels ? { ...ctx, channels } : ctx;
};

async function resetQueue(b: Bench): Promise<void> {
  await b.database.db.execute(
    sql`TRUNCATE session_queue, queue_user_turns, queue_state, workers, channel_log, channel_heads, images, blobs CASCADE`,
  );
}

// ---- the processes -------------------------------------------------------------------------------------
interface Node {
  name: string;
  child: ChildProcess;
  port: number;
  workerIds: string[];
  call(cmd: NodeCommand): Promise<NodeReply>;
}

async function startNode(b: Bench, name: string, vars: Record<string, string>): Promise<Node> {
  const child = fork(new URL('./cluster-node.ts', import.meta.url).pathname, [], {
    cwd: projectRoot,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...envFor(b.url, { NODE_ID: name, BENCH_ITEM_MS: String(S.itemMs), ...vars }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies: NodeReply[] = [];
  let waiter: ((r: NodeReply) => void) | undefined;
  child.on('message', (msg: NodeReply) => {
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w(msg);
    } else {
      replies.push(msg);
    }
  });
  const next = () =>
    new Promise<NodeReply>((resolve, reject) => {
      const queued = replies.shift();
      if (queued) {
        resolve(queued);
        return;
      }
      const onExit = (code: number | null) => reject(new Error(`process ${name} exited (${code})`));
      child.once('exit', onExit);
      waiter = (r) => {
        child.off('exit', onExit);
        if (r.reply === 'error') {
          reject(new Error(`process ${name}: ${r.message}`));
        } else {
          resolve(r);
        }
      };
    });
  const ready = await next();
  if (ready.reply !== 'ready') {
    throw new Error(`process ${name}: unexpected ${ready.reply}`);
  }
  return {
    name,
    child,
    port: ready.port,
    workerIds: ready.workerIds,
    call: (cmd) => {
      child.send(cmd);
      return next();
    },
  };
}

async function stopNode(node: Node): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) {
    return;
  }
  const exited = once(node.child, 'exit');
  node.child.send({ cmd: 'stop' } satisfies NodeCommand);
  const guard = setTimeout(() => node.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(guard);
}

const running = new Set<Node>();
async function withNodes<T>(
  b: Bench,
  specs: [string, Record<string, string>][],
  fn: (nodes: Node[]) => Promise<T>,
): Promise<T> {
  const nodes = await Promise.all(specs.map(([name, vars]) => startNode(b, name, vars)));
  for (const n of nodes) {
    running.add(n);
  }
  try {
    return await fn(nodes);
  } finally {
    await Promise.all(nodes.map((n) => stopNode(n).finally(() => running.delete(n))));
  }
}

// ---- CPU accounting ------------------------------------------------------------------------------------
async function nodeCpu(node: Node): Promise<number> {
  const r = await node.call({ cmd: 'cpu' });
  return r.reply === 'cpu' ? r.ms : Number.NaN;
}

interface CpuUsed {
  /** Per process, in the order given. */
  nodes: number[];
  pg: number;
}

/** The CPU time the processes and the database's backends used while `fn` ran. */
async function cpuWhile<T>(
  b: Bench,
  nodes: Node[],
  fn: () => Promise<T>,
): Promise<{ value: T; cpu: CpuUsed }> {
  const pg0 = await backendCpu(b.admin, b.name);
  const n0 = await Promise.all(nodes.map(nodeCpu));
  const value = await fn();
  const n1 = await Promise.all(nodes.map(nodeCpu));
  const pg = cpuSince(pg0, await backendCpu(b.admin, b.name));
  return { value, cpu: { nodes: n1.map((v, i) => v - (n0[i] ?? 0)), pg } };
}

// ---- 1. delivery ---------------------------------------------------------------------------------------
/** An SSE client of one process's `GET /api/v1/events`: the latency of each `invocation_progress`. */
class Listener {
  samples: number[] = [];
  received = 0;
  #buffer = '';
  #req: ReturnType<typeof request>;
  readonly connected: Promise<void>;

  constructor(port: number, token: string) {
    let onConnected: () => void = () => {};
    this.connected = new Promise((resolve) => {
      onConnected = resolve;
    });
    this.#req = request(
      { host: '127.0.0.1', port, path: '/api/v1/events', headers: { authorization: `Bearer ${token}` } },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          this.#buffer += chunk;
          let end = this.#buffer.indexOf('\n\n');
          while (end >= 0) {
            const block = this.#buffer.slice(0, end);
            this.#buffer = this.#buffer.slice(end + 2);
            this.#onBlock(block, onConnected);
            end = this.#buffer.indexOf('\n\n');
          }
        });
      },
    );
    this.#req.on('error', () => {});
    this.#req.end();
  }

  #onBlock(block: string, onConnected: () => void): void {
    const at = wallMs();
    if (block.includes('event: connected')) {
      onConnected();
      return;
    }
    if (!block.includes('event: invocation_progress')) {
      return;
    }
    const data = block.split('\n').find((l) => l.startsWith('data: '));
    if (!data) {
      return;
    }
    const t = (JSON.parse(data.slice(6)) as { t: number }).t;
    this.received++;
    this.samples.push(at - t);
  }

  close(): void {
    this.#req.destroy();
  }
}

interface DeliveryRow {
  rate: number;
  mode: 'memory' | 'single' | 'cross';
  lat: Latency;
  sent: number;
  received: number;
  /** CPU per event (µs): the Easel processes involved, and PostgreSQL. */
  nodeUs: number;
  pgUs: number;
}

async function deliveryLevel(
  publisher: Node,
  listener: Listener,
  ownerId: string,
  rate: number,
  seconds: number,
): Promise<{ lat: Latency; sent: number; received: number }> {
  listener.samples = [];
  listener.received = 0;
  const reply = await publisher.call({ cmd: 'publish', ownerId, rate, seconds });
  const sent = reply.reply === 'published' ? reply.sent : 0;
  const deadline = performance.now() + 10_000;
  while (listener.received < sent && performance.now() < deadline) {
    await sleep(20);
  }
  const samples = listener.samples;
  return { lat: latency(samples), sent, received: listener.received };
}

async function delivery(b: Bench): Promise<DeliveryRow[]> {
  await resetQueue(b);
  const [owner] = await createUsers(b, 'owner', 1);
  await createUsers(b, 'admin', 1, true);
  if (!owner) {
    throw new Error('no owner');
  }
  log('delivery: processes A, B (channel log) and M (in-memory hub)');
  return withNodes(
    b,
    [
      ['A', { ROLE: 'api' }],
      ['B', { ROLE: 'api' }],
      ['M', { ROLE: 'api', BENCH_LOG: '0' }],
    ],
    async ([a, bNode, m]) => {
      if (!a || !bNode || !m) {
        throw new Error('missing process');
      }
      const onA = new Listener(a.port, owner.token);
      const onM = new Listener(m.port, owner.token);
      await Promise.all([onA.connected, onM.connected]);
      // Warm-up: every path once.
      for (const [pub, l] of [
        [a, onA],
        [bNode, onA],
        [m, onM],
      ] as const) {
        await deliveryLevel(pub, l, owner.actor.userId, 200, 1);
      }
      const rows: DeliveryRow[] = [];
      for (const rate of S.rates) {
        for (const [mode, pub, reader, l] of [
          ['memory', m, m, onM],
          ['single', a, a, onA],
          ['cross', bNode, a, onA],
        ] as const) {
          const involved = pub === reader ? [pub] : [pub, reader];
          const { value: r, cpu } = await cpuWhile(b, involved, () =>
            deliveryLevel(pub, l, owner.actor.userId, rate, S.levelS),
          );
          const nodeUs = (cpu.nodes.reduce((x, y) => x + y, 0) * 1000) / Math.max(1, r.sent);
          const pgUs = (cpu.pg * 1000) / Math.max(1, r.sent);
          log(
            `delivery ${mode} ${rate}/s: p50/p99 ${fmtLat(r.lat)} max ${fmtMs(r.lat.max)} (${r.received}/${r.sent}); CPU/event ${nodeUs.toFixed(0)} + ${pgUs.toFixed(0)} µs; load ${loadNow()}`,
          );
          rows.push({ rate, mode, ...r, nodeUs, pgUs });
        }
      }
      onA.close();
      onM.close();
      return rows;
    },
  );
}

// ---- 2. scaling ----------------------------------------------------------------------------------------
interface ScalingRow {
  workers: number;
  /** CPU per item (ms): the two Easel processes, and PostgreSQL. */
  nodeMs: number;
  pgMs: number;
  perProcess: string;
  itemsPerS: number;
  seconds: number;
  minJain: number;
  windows: number;
  perWorker: string;
}

/** Resumes the queue and waits until every item completed. */
async function untilCompleted(b: Bench, workers: number): Promise<void> {
  const db = b.database.db;
  await setQueuePaused(db, 'default', false, new Date());
  const deadline = performance.now() + ((S.items * S.itemMs) / workers) * 4 + 60_000;
  for (;;) {
    const [row] = rowsOf<{ done: number; failed: number }>(
      await db.execute(sql`SELECT count(*) FILTER (WHERE status = 'completed')::int AS done,
          count(*) FILTER (WHERE status IN ('failed', 'canceled'))::int AS failed FROM session_queue`),
    );
    if ((row?.failed ?? 0) > 0) {
      throw new Error(`scaling: ${row?.failed} items failed`);
    }
    if ((row?.done ?? 0) >= S.items) {
      break;
    }
    if (performance.now() > deadline) {
      throw new Error(`scaling: only ${row?.done} of ${S.items} completed in time`);
    }
    await sleep(200);
  }
}

async function scalingCase(b: Bench, users: BenchUser[], workers: number): Promise<ScalingRow> {
  await resetQueue(b);
  const db = b.database.db;
  await setQueuePaused(db, 'default', true, new Date());
  const specs: [string, Record<string, string>][] =
    workers === 1
      ? [
          ['A', { DEVICES: 'cpu', BENCH_WORKERS_START: '1' }],
          ['B', { ROLE: 'api' }],
        ]
      : [
          [
            'A',
            {
              DEVICES: Array(workers / 2)
                .fill('cpu')
                .join(','),
              BENCH_WORKERS_START: '1',
            },
          ],
          [
            'B',
            {
              DEVICES: Array(workers / 2)
                .fill('cpu')
                .join(','),
              BENCH_WORKERS_START: '1',
            },
          ],
        ];
  return withNodes(b, specs, async (nodes) => {
    // Each user's items in one batch, one user after the other: fifo would serve them one user at a time.
    const perUser = S.items / users.length;
    for (const u of users) {
      await enqueueBatch({
        ctx: ctxAs(b, u),
        input: {
          queueId: 'default',
          body: { batch: { graph: textToImageGraph({ steps: 1 }), runs: perUser } },
        },
      });
    }
    log(`scaling ${workers} worker(s): ${S.items} items enqueued, resuming`);
    const { cpu } = await cpuWhile(b, nodes, () => untilCompleted(b, workers));
    const rows = rowsOf<{ user_id: string; started_at: string; completed_at: string; worker_id: string }>(
      await db.execute(sql`SELECT user_id, started_at, completed_at, worker_id FROM session_queue
        ORDER BY completed_at, item_id`),
    );
    const first = Math.min(...rows.map((r) => new Date(r.started_at).getTime()));
    const last = Math.max(...rows.map((r) => new Date(r.completed_at).getTime()));
    const seconds = (last - first) / 1000;
    // Jain's index over the users' completions in consecutive windows of 5 rounds (5 × users completions).
    const size = 5 * users.length;
    let minJain = 1;
    let windows = 0;
    for (let i = 0; i + size <= rows.length; i += size) {
      const counts = new Map(users.map((u) => [u.actor.userId, 0]));
      for (const r of rows.slice(i, i + size)) {
        counts.set(r.user_id, (counts.get(r.user_id) ?? 0) + 1);
      }
      minJain = Math.min(minJain, jain([...counts.values()]));
      windows++;
    }
    const byWorker = new Map<string, number>();
    for (const r of rows) {
      byWorker.set(r.worker_id, (byWorker.get(r.worker_id) ?? 0) + 1);
    }
    const perWorker = [...byWorker]
      .sort(([x], [y]) => (x < y ? -1 : 1))
      .map(([, n]) => n)
      .join(' / ');
    const perProcess = specs
      .map(([name, v]) => `${name}:${v.ROLE === 'api' ? 0 : (v.DEVICES ?? '').split(',').length}`)
      .join(' ');
    return {
      workers,
      perProcess,
      itemsPerS: rows.length / seconds,
      seconds,
      minJain,
      windows,
      perWorker,
      nodeMs: cpu.nodes.reduce((x, y) => x + y, 0) / rows.length,
      pgMs: cpu.pg / rows.length,
    };
  });
}

interface LogStats {
  rows: number;
  bytes: number;
  items: number;
  pruneRows: number;
  pruneMs: number;
}

async function scaling(b: Bench): Promise<{ rows: ScalingRow[]; logStats: LogStats }> {
  const users = await createUsers(b, 'user', S.users);
  const rows: ScalingRow[] = [];
  let logStats: LogStats | undefined;
  for (const workers of [1, 2, 4]) {
    const row = await scalingCase(b, users, workers);
    log(
      `scaling ${workers}: ${row.itemsPerS.toFixed(1)} items/s in ${row.seconds.toFixed(1)} s, min Jain ${row.minJain.toFixed(3)} (${row.perWorker})`,
    );
    rows.push(row);
    if (workers === 4) {
      const db = b.database.db;
      const [stats] = rowsOf<{ n: number; bytes: string }>(
        await db.execute(sql`SELECT (SELECT count(*)::int FROM channel_log) AS n,
          pg_total_relation_size('channel_log')::text AS bytes`),
      );
      // Pruning as if every row were old enough: keep each channel's newest 100.
      const t = performance.now();
      const pruned = await prune(db, new Date(Date.now() + 3_600_000), { minEvents: 100, minAgeMs: 0 });
      logStats = {
        rows: stats?.n ?? 0,
        bytes: Number(stats?.bytes ?? 0),
        items: S.items,
        pruneRows: pruned,
        pruneMs: performance.now() - t,
      };
    }
  }
  return { rows, logStats: logStats as LogStats };
}

// ---- 3. claim latency ----------------------------------------------------------------------------------
interface ClaimRow {
  fairness: 'round_robin' | 'fifo';
  /** "Work" after each claim: the item's time (4 workers) or 0 (claims back to back). */
  workMs: number;
  /** CPU per claim (ms): the claiming processes, and PostgreSQL. */
  nodeMs: number;
  pgMs: number;
  lat: Latency;
  claims: number;
  empty: number;
  perS: number;
}

async function claims(b: Bench): Promise<{ rows: ClaimRow[]; plan: string }> {
  await resetQueue(b);
  const db = b.database.db;
  await db.execute(sql`INSERT INTO users (user_id, email, display_name, password_hash, is_admin, is_active)
    SELECT 'claim-user-' || g, 'claim' || g || '@example.com', 'claim ' || g, '!', false, true
    FROM generate_series(1, ${CLAIM_USERS}) g ON CONFLICT DO NOTHING`);
  const session = JSON.stringify({ graph: textToImageGraph({ steps: 1 }) });
  const t = performance.now();
  await db.execute(sql`INSERT INTO session_queue
      (queue_id, batch_id, session_id, status, priority, session, created_at, updated_at, user_id)
    SELECT 'default', 'b-' || (g % ${CLAIM_USERS}), 's-' || g, 'pending', 0, ${session}::jsonb, now(), now(),
      'claim-user-' || (1 + g % ${CLAIM_USERS})
    FROM generate_series(1, ${S.pending}) g ORDER BY g`);
  await db.execute(sql`VACUUM ANALYZE session_queue`);
  log(
    `claims: ${S.pending} pending items over ${CLAIM_USERS} users in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const plan = await explainClaim(b);
  const rows: ClaimRow[] = [];
  await withNodes(
    b,
    [
      ['A', { ROLE: 'api' }],
      ['B', { ROLE: 'api' }],
    ],
    async (nodes) => {
      for (const [fairness, workMs] of [
        ['round_robin', S.itemMs],
        ['fifo', S.itemMs],
        ['round_robin', 0],
        ['fifo', 0],
      ] as const) {
        const { value: replies, cpu } = await cpuWhile(b, nodes, () =>
          Promise.all(
            nodes.map((n) =>
              n.call({ cmd: 'claims', loops: 2, seconds: S.claimS, fairness, tag: n.name, workMs }),
            ),
          ),
        );
        const all: number[] = [];
        let empty = 0;
        for (const r of replies) {
          if (r.reply === 'claimed') {
            all.push(...r.latencies);
            empty += r.empty;
          }
        }
        const n = Math.max(1, all.length);
        const row: ClaimRow = {
          fairness,
          workMs,
          lat: latency(all),
          claims: all.length,
          empty,
          perS: all.length / S.claimS,
          nodeMs: cpu.nodes.reduce((x, y) => x + y, 0) / n,
          pgMs: cpu.pg / n,
        };
        log(
          `claims ${fairness}, work ${workMs} ms: ${fmtLat(row.lat)} (max ${fmtMs(row.lat.max)}), ${fmtInt(row.perS)}/s, ${empty} empty; CPU/claim ${row.nodeMs.toFixed(2)} + ${row.pgMs.toFixed(2)} ms; load ${loadNow()}`,
        );
        rows.push(row);
      }
    },
  );
  return { rows, plan };
}

/** The round-robin claim's candidate query, EXPLAIN ANALYZEd in a transaction that is rolled back. */
async function explainClaim(b: Bench): Promise<string> {
  const lines: string[] = [];
  try {
    await b.database.db.transaction(async (tx) => {
      const rows = rowsOf<{ 'QUERY PLAN': string }>(
        await tx.execute(
          sql`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${claimCandidateQuery('default', 'round_robin', 16)}`,
        ),
      );
      lines.push(...rows.map((r) => r['QUERY PLAN']));
      throw new Error('rollback');
    });
  } catch (err) {
    if ((err as Error).message !== 'rollback') {
      throw err;
    }
  }
  return lines.join('\n');
}

// ---- 4. log cost ---------------------------------------------------------------------------------------
interface CostRow {
  path: string;
  memory: Latency;
  logged: Latency;
  /** CPU per call (ms): this process, and PostgreSQL; in-memory hub, then channel log. */
  memoryCpu: { node: number; pg: number };
  loggedCpu: { node: number; pg: number };
}

async function logCost(b: Bench): Promise<CostRow[]> {
  await resetQueue(b);
  const [owner] = await createUsers(b, 'cost', 1);
  if (!owner) {
    throw new Error('no owner');
  }
  const logHub = b.deps.channels as ChannelHub;
  const enqueue = (hub: ChannelHub | undefined, runs: number) => () =>
    enqueueBatch({
      ctx: ctxAs(b, owner, hub),
      input: { queueId: 'default', body: { batch: { graph: textToImageGraph({ steps: 1 }), runs } } },
    });
  const cancel = (hub: ChannelHub | undefined) => async () => {
    const { item_ids } = (await enqueue(hub, 1)()) as { item_ids: number[] };
    const t = performance.now();
    await cancelItem({
      ctx: ctxAs(b, owner, hub),
      input: { queueId: 'default', itemId: item_ids[0] as number },
    });
    return performance.now() - t;
  };
  const timed = (fn: () => Promise<unknown>) => async () => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  const paths: [string, (hub: ChannelHub | undefined) => () => Promise<number>][] = [
    ['enqueue, 1 item (`enqueueBatch`)', (h) => timed(enqueue(h, 1))],
    ['enqueue, 100 items (`enqueueBatch`)', (h) => timed(enqueue(h, 100))],
    ['status change (`cancelItem` of a pending item)', (h) => cancel(h)],
  ];
  const rows: CostRow[] = [];
  for (const [path, make] of paths) {
    // `undefined`: the deps' own hub, which writes the channel log (as every process on PostgreSQL does).
    const logged = make(undefined);
    const memory = make(b.memoryHub);
    for (let i = 0; i < 20; i++) {
      await logged();
      await memory();
    }
    const sl: number[] = [];
    const sm: number[] = [];
    for (let i = 0; i < S.costN; i++) {
      sl.push(await logged());
      sm.push(await memory());
    }
    await logHub.appended();
    // CPU, in blocks (reading it around each call would cost more than some calls).
    const cpuOf = async (fn: () => Promise<number>) => {
      const n = Math.max(10, Math.round(S.costN / 2));
      const own = process.cpuUsage();
      const { cpu } = await cpuWhile(b, [], async () => {
        for (let i = 0; i < n; i++) {
          await fn();
        }
        await logHub.appended();
      });
      const used = process.cpuUsage(own);
      return { node: (used.user + used.system) / 1000 / n, pg: cpu.pg / n };
    };
    const loggedCpu = await cpuOf(logged);
    const memoryCpu = await cpuOf(memory);
    const row = { path, memory: latency(sm), logged: latency(sl), memoryCpu, loggedCpu };
    log(
      `log cost ${path}: memory ${fmtLat(row.memory)}, log ${fmtLat(row.logged)}; CPU/call ${memoryCpu.node.toFixed(2)} + ${memoryCpu.pg.toFixed(2)} → ${loggedCpu.node.toFixed(2)} + ${loggedCpu.pg.toFixed(2)} ms`,
    );
    rows.push(row);
  }
  return rows;
}

// ---- report --------------------------------------------------------------------------------------------
interface Results {
  delivery: DeliveryRow[];
  scaling: ScalingRow[];
  logStats: LogStats;
  claims: ClaimRow[];
  plan: string;
  cost: CostRow[];
}

function report(
  r: Results,
  meta: { pg: string; settings: string; loadStart: string; loadEnd: string; seconds: number },
) {
  const signed = (n: number) => `${n >= 0 ? '+' : '−'}${fmtMs(Math.abs(n))}`;
  const mode = {
    memory: 'one process, in-memory hub (no log)',
    single: 'one process, channel log',
    cross: 'published on B, client on A',
  };
  const deliveryRows = r.delivery.map((d) => {
    const single = r.delivery.find((x) => x.rate === d.rate && x.mode === 'single');
    let target = '–';
    if (d.mode === 'cross' && single) {
      const limit = single.lat.p99 + 10;
      target =
        d.rate === 1000
          ? `p99 ≤ ${fmtMs(limit)} ms: ${verdict(d.lat.p99 <= limit)}`
          : `(p99 − single: ${signed(d.lat.p99 - single.lat.p99)} ms)`;
    }
    return `| ${fmtInt(d.rate)}/s | ${mode[d.mode]} | ${fmtLat(d.lat)} | ${fmtMs(d.lat.max)} ms | ${fmtInt(d.received)} / ${fmtInt(d.sent)} | ${fmtInt(d.nodeUs)} + ${fmtInt(d.pgUs)} µs | ${target} |`;
  });
  const one = r.scaling.find((s) => s.workers === 1)?.itemsPerS ?? Number.NaN;
  const scalingRows = r.scaling.map((s) => {
    const ratio = s.itemsPerS / one;
    const want = s.workers === 2 ? 1.9 : s.workers === 4 ? 3.5 : undefined;
    const target = [
      want ? `≥ ${want}×: ${verdict(ratio >= want)}` : '',
      `Jain ≥ 0.95: ${verdict(s.minJain >= 0.95)}`,
    ]
      .filter(Boolean)
      .join('; ');
    const cpuMs = s.nodeMs + s.pgMs;
    return `| ${s.workers} (${s.perProcess}) | ${s.itemsPerS.toFixed(1)} | ${(s.workers * (1000 / S.itemMs)).toFixed(0)} | ${ratio.toFixed(2)}× | ${s.seconds.toFixed(1)} s | ${s.minJain.toFixed(3)} (${s.windows}) | ${s.perWorker} | ${fmtMs(s.nodeMs)} + ${fmtMs(s.pgMs)} ms (${fmtInt((availableParallelism() * 1000) / cpuMs)}/s) | ${target} |`;
  });
  const claimRows = r.claims.map(
    (c) =>
      `| ${c.fairness} | ${c.workMs > 0 ? `4 workers, ${c.workMs} ms per item` : '4 claimers back to back'} | ${fmtLat(c.lat)} | ${fmtMs(c.lat.max)} ms | ${fmtInt(c.claims)} (${fmtInt(c.perS)}/s) | ${c.empty} | ${fmtMs(c.nodeMs)} + ${fmtMs(c.pgMs)} ms | ${c.fairness === 'round_robin' && c.workMs > 0 ? `p99 < 10 ms: ${verdict(c.lat.p99 < 10)}` : '–'} |`,
  );
  const costRows = r.cost.map(
    (c) =>
      `| ${c.path} | ${fmtLat(c.memory)} | ${fmtLat(c.logged)} | ${signed(c.logged.p50 - c.memory.p50)} ms (${(c.logged.p50 / c.memory.p50).toFixed(2)}×) | ${fmtMs(c.memoryCpu.node)} + ${fmtMs(c.memoryCpu.pg)} → ${fmtMs(c.loggedCpu.node)} + ${fmtMs(c.loggedCpu.pg)} ms |`,
  );

  const ls = r.logStats;
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `# Cluster benchmark${QUICK ? ' (--quick: a smoke run, not the measurement)' : ''}

- Date: ${new Date().toISOString()}
- Machine: nproc ${availableParallelism()} (${cpu}); load average (\`/proc/loadavg\`) at start ${meta.loadStart}, at end ${meta.loadEnd}
- Node ${process.version}; PostgreSQL ${meta.pg} (${meta.settings})
- Command: \`npm run bench:cluster${QUICK ? ' -- --quick' : ''}\` (\`npx tsx bench/cluster.ts\`); whole run ${meta.seconds.toFixed(0)} s; method in bench/README.md.

## 1. Event delivery: one owner's SSE stream (\`GET /api/v1/events\`), ${S.levelS} s per level

| Rate | Path | p50 / p99 | max | received / sent | CPU per event: Easel + PostgreSQL | Target (cross vs single) |
|---|---|---|---|---|---|---|
${deliveryRows.join('\n')}

CPU per event: the publishing and the reading process (\`process.cpuUsage\`) and this database's
PostgreSQL backends (\`/proc/<pid>/stat\`, 10 ms ticks), over the level, divided by the events sent.
Latency from \`hub.publish\` in the publishing process to the frame parsed by an HTTP client of process A
(or M), clocks of one machine. Each event is an owned \`invocation_progress\`; one admin exists, so each
logged event is two log rows. Logged paths: publish → one transaction per round of pending events
(channel_log rows + \`pg_notify\`) → every process's tailer reads the channel after the notification →
stream.

## 2. Scaling: ${fmtInt(S.items)} items from ${S.users} users, a fake runtime of ${S.itemMs} ms per item, two processes

| Workers (per process) | items/s | ideal | vs 1 worker | wall | min Jain (windows) | items per worker | CPU per item: Easel + PostgreSQL (ceiling on ${availableParallelism()} cores) | Target |
|---|---|---|---|---|---|---|---|---|
${scalingRows.join('\n')}

Round-robin fairness. Each user's items are one batch, enqueued one user after another while the queue is
paused; the rate is items / (last \`completed_at\` − first \`started_at\`). Every item is a real graph run
by the pool (model loader, prompt, noise, one denoise step that sleeps ${S.itemMs} ms, decode) whose image
is encoded with sharp (64×64 PNG and thumbnail) and kept in memory; every transition and invocation event
goes through the channel log. CPU per item: both processes and the database's backends from resume to
the last completion, over the items; the ceiling is the cores' time divided by it (what this machine
could do with nothing else running). Jain's index is over the users' completions in consecutive windows of
${5 * S.users} completions (five rounds), in \`completed_at\` order; the minimum over the windows is shown.

Channel log after the 4-worker run: ${fmtInt(ls.rows)} rows for ${fmtInt(ls.items)} items
(${(ls.rows / ls.items).toFixed(1)} rows per item with one admin), ${(ls.bytes / 1024 / 1024).toFixed(1)} MiB
with its indexes (${fmtInt(ls.bytes / Math.max(1, ls.rows))} bytes per row); pruning ${fmtInt(ls.pruneRows)} of them
(keeping 100 per channel) took ${fmtInt(ls.pruneMs)} ms.

## 3. Claim latency: 4 claimers (2 processes × 2) on ${fmtInt(S.pending)} pending items over ${CLAIM_USERS} users, ${S.claimS} s per row

| Fairness | Claimers | p50 / p99 | max | claims | empty claims | CPU per claim: Easel + PostgreSQL | Target |
|---|---|---|---|---|---|---|---|
${claimRows.join('\n')}

\`claimNext\` (the workers' statement, prepared) in a loop on each claimer, each its own transaction and
commit (\`synchronous_commit\` as the server has it). "4 workers": each claimer waits an item's time after
each claim, as a worker running its item does; "back to back": claims as fast as they go (the queue's
claim capacity). Each claimer's first two claims prepare the statement on its connection (parse, plan,
catalog reads: once in a worker's life) and are not counted; before this was so, they were 4 of the ~280
samples of the "4 workers" rows and made their p99. Claimed items stay \`in_progress\`, so the pending set
shrinks by the claims.
\`session_queue\` was \`VACUUM ANALYZE\`d after the insert. CPU per claim: the claiming processes'
(\`process.cpuUsage\`) and the database's backends' (\`/proc/<pid>/stat\`), over the claims made.

Plan of the round-robin candidate query (before the claims):

\`\`\`
${r.plan}
\`\`\`

## 4. What the channel log costs the enqueue and status paths (${S.costN} calls each, alternating)

| Path | in-memory hub (before) p50 / p99 | channel log (after) p50 / p99 | log's cost (p50) | CPU per call: Easel + PostgreSQL, before → after |
|---|---|---|---|---|
${costRows.join('\n')}

The services called in one process with the same deps, once with the hub that writes every event to the
channel log in the change's transaction (what every process on PostgreSQL does) and once with the
in-memory hub (what one process did before). One owner and one admin: an owned event is two log rows.
Latencies alternate call by call; the CPU columns come from a block of ${Math.max(10, Math.round(S.costN / 2))} calls of each kind
afterwards (this process's \`process.cpuUsage\` and the database's backends, waiting for the log's
writes; 10 ms ticks for PostgreSQL). The status row's CPU includes the enqueue of the item it cancels.
`;
}

// ---- main ----------------------------------------------------------------------------------------------
async function main() {
  const started = performance.now();
  const loadStart = loadNow();
  const b = await openBench();
  log(`database ${b.name}${QUICK ? ' (quick)' : ''}`);
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) {
      return;
    }
    cleaned = true;
    for (const n of running) {
      n.child.kill('SIGKILL');
    }
    await b.deps.channels.shutdown().catch(() => {});
    await b.memoryHub.shutdown().catch(() => {});
    await b.deps.revocations?.stop().catch(() => {});
    await b.database.close().catch(() => {});
    await b.admin.unsafe(`DROP DATABASE IF EXISTS ${b.name} WITH (FORCE)`);
    await b.admin.end({ timeout: 5 });
    log(`dropped ${b.name}`);
  };
  process.once('SIGINT', () => {
    log('interrupted: cleaning up');
    void cleanup().finally(() => process.exit(130));
  });
  try {
    const settings = rowsOf<{ name: string; setting: string }>(
      await b.database.db.execute(sql`SELECT name, setting FROM pg_settings WHERE name IN
        ('server_version', 'synchronous_commit', 'autovacuum', 'shared_buffers', 'max_connections') ORDER BY name`),
    );
    const pg = settings.find((s) => s.name === 'server_version')?.setting ?? '?';
    const rest = settings
      .filter((s) => s.name !== 'server_version')
      .map((s) => `${s.name} ${s.setting}`)
      .join(', ');
    const deliveryRows = await delivery(b);
    const { rows: scalingRows, logStats } = await scaling(b);
    const { rows: claimRows, plan } = await claims(b);
    const cost = await logCost(b);
    const md = report(
      { delivery: deliveryRows, scaling: scalingRows, logStats, claims: claimRows, plan, cost },
      { pg, settings: rest, loadStart, loadEnd: loadNow(), seconds: (performance.now() - started) / 1000 },
    );
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    await writeFile(RESULTS, md);
    console.log(md);
    log(`wrote ${RESULTS.pathname}`);
  } finally {
    await cleanup();
  }
}

await main();
