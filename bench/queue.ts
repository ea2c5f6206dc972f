/**
 * Queue benchmark: Easel's queue services (Drizzle over `postgres`) against the same statements through the
 * bare `postgres` driver, and against pg-boss, on one fresh PostgreSQL database that is dropped at the end.
 * Run: `npm run bench:queue` (or `npx tsx bench/queue.ts`). Writes bench/results/queue.md. See bench/README.md.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql as dsql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import PgBoss from 'pg-boss';
import postgres from 'postgres';
import { ChannelHub } from '../src/channels/hub.ts';
import { sharedTicketStore } from '../src/channels/shared-tickets.ts';
import type { AuthUser } from '../src/core/actor.ts';
import { systemClock } from '../src/core/clock.ts';
import type { QueueSettings, ServiceContext } from '../src/core/context.ts';
import { createJsonLogger } from '../src/core/logger.ts';
import { migrate } from '../src/db/migrate.ts';
import type { Database } from '../src/db/types.ts';
import type { AppDeps } from '../src/deps.ts';
import { contextFromDeps } from '../src/deps.ts';
import { HttpMetrics } from '../src/http/metrics.ts';
import { readableSinks } from '../src/http/readable-sink.ts';
import { MemoryBlobStore } from '../src/images/memory-blob-store.ts';
import { unavailableCodec } from '../src/images/unavailable-codec.ts';
import { createUrlSigner } from '../src/images/url-signer.ts';
import { staticCatalog } from '../src/models/catalog.ts';
import { readMigrationsFromDir } from '../src/node/migrations-fs.ts';
import { openPostgres } from '../src/node/postgres-client.ts';
import { nextItemIdQuery } from '../src/queue/next-item-sql.ts';
import { IdentityCache } from '../src/services/auth/identity-cache.ts';
import { LoginRateLimiter } from '../src/services/auth/login-rate-limiter.ts';
import { pbkdf2Hasher } from '../src/services/auth/passwords.ts';
import { hs256Tokens } from '../src/services/auth/tokens.ts';
import { enqueueBatch } from '../src/services/queue/enqueue-batch.ts';
import { getQueueStatus } from '../src/services/queue/get-queue-status.ts';
import { encodeCursor } from '../src/services/queue/internal.ts';
import { listItems } from '../src/services/queue/list-items.ts';
import { createUser } from '../src/services/users/index.ts';
import { claimNext } from '../src/worker/claim.ts';
import { IdleWorkers } from '../src/worker/idle.ts';
import { migrationsDir, PG_ADMIN_URL } from '../tests/helpers/database.ts';
import { TINY_MODEL_KEY, textToImageGraph } from '../tests/helpers/graphs.ts';

// ---- knobs (environment) -------------------------------------------------------------------------------
const int = (name: string, fallback: number) => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number.parseInt(v, 10);
};
const ADMIN_URL = process.env.BENCH_PG_URL ?? PG_ADMIN_URL;
const ITEMS = int('BENCH_ITEMS', 100_000);
const BATCH = 1000;
const USERS = 4;
const READ_SAMPLES = int('BENCH_READ_SAMPLES', 400);
const CLAIMS = int('BENCH_CLAIMS', 5000);
const BOSS_SENDS = int('BENCH_BOSS_SENDS', 10_000);
const BOSS_FETCH_BATCH = 50;
const BOSS_FETCH_SECONDS = int('BENCH_BOSS_FETCH_SECONDS', 20);
const RESULTS = new URL('./results/queue.md', import.meta.url);
const QUEUE = 'default';

// ---- small helpers -------------------------------------------------------------------------------------
const log = (msg: string) => console.error(`[bench] ${msg}`);
const ms = (start: number) => performance.now() - start;

/** Nearest-rank percentile of `samples` (milliseconds). */
function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? Number.NaN;
}

interface Latency {
  p50: number;
  p99: number;
  n: number;
}
const latency = (samples: number[]): Latency => ({
  p50: percentile(samples, 50),
  p99: percentile(samples, 99),
  n: samples.length,
});

/**
 * Times `a` and `b` alternately (after a warm-up of each), so drift on a shared machine hits both alike.
 */
async function alternate(
  n: number,
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
): Promise<[Latency, Latency]> {
  for (let i = 0; i < Math.min(50, n); i++) {
    await a();
    await b();
  }
  const sa: number[] = [];
  const sb: number[] = [];
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await a();
    sa.push(ms(t));
    t = performance.now();
    await b();
    sb.push(ms(t));
  }
  return [latency(sa), latency(sb)];
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const fmtLat = (l: Latency) => `${fmtMs(l.p50)} / ${fmtMs(l.p99)} ms`;
const verdict = (ok: boolean) => (ok ? '**met**' : '**not met**');

// ---- the database of this run --------------------------------------------------------------------------
interface BenchDb {
  name: string;
  url: string;
  easel: Database;
  raw: postgres.Sql;
  admin: postgres.Sql;
}

async function openBenchDb(): Promise<BenchDb> {
  const name = `easel_bench_${crypto.randomUUID().replaceAll('-', '')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  // Same pool size for Easel and the bare driver: getQueueStatus runs its counts in parallel.
  const easel = openPostgres(url.toString(), { max: 4 });
  await migrate(easel.db, await readMigrationsFromDir(migrationsDir));
  const raw = postgres(url.toString(), { max: 4, onnotice: () => {} });
  return { name, url: url.toString(), easel, raw, admin };
}

/** App deps as the server assembles them (tests/helpers/harness.ts), with the system clock. */
function benchDeps(database: Database): AppDeps {
  const logger = createJsonLogger({ level: 'error', write: () => {} });
  // Nobody listens: events are dropped, so the run measures the queue's SQL, not event delivery.
  const channels = new ChannelHub({ clock: systemClock, logger, loadQueueStatus: async () => ({}) });
  return {
    config: {
      version: 'bench',
      authMode: 'multiuser',
      corsOrigins: [],
      userMaxPending: 10_000_000,
      queue: { fairness: 'round_robin', maxSize: 10_000_000 },
    },
    db: database.db,
    clock: systemClock,
    logger,
    passwords: pbkdf2Hasher(1000),
    tokens: hs256Tokens(new TextEncoder().encode('bench-secret-bench-secret-bench-secret-0123'), systemClock),
    identities: new IdentityCache(database.db),
    loginLimiter: new LoginRateLimiter(systemClock),
    metrics: new HttpMetrics(),
    channels,
    streamSinks: readableSinks,
    tickets: sharedTicketStore(database.db, systemClock),
    images: unavailableCodec,
    blobs: new MemoryBlobStore(),
    urlSigner: createUrlSigner(new TextEncoder().encode('bench-secret-bench-secret-bench-secret-0123')),
    workers: new IdleWorkers({ db: database.db, clock: systemClock }),
    models: staticCatalog([
      {
        key: TINY_MODEL_KEY,
        name: 'Tiny SD',
        base: 'sd-1',
        type: 'main',
        format: 'onnx',
        description: 'bench',
      },
    ]),
    readiness: () => ({ ready: true, checks: { database: true } }),
    clientAddress: () => undefined,
  };
}

// ---- the bare-driver statements ------------------------------------------------------------------------
const COLS = [
  'queue_id',
  'batch_id',
  'session_id',
  'priority',
  'field_values',
  'session',
  'workflow',
  'origin',
  'destination',
  'created_at',
  'updated_at',
  'user_id',
] as const;

/**
 * What enqueueBatch sends for one batch, hand-written: in a transaction, the capacity checks (advisory
 * lock, active counts, the owner's row), one 1,000-row INSERT, the audit row. Into `table` (a copy of
 * session_queue with the same indexes) so that Easel's data set stays as enqueued.
 */
async function rawEnqueue(raw: postgres.Sql, table: string, userId: string, runs: number): Promise<number[]> {
  const graph = textToImageGraph({ prompt: 'a red cube' });
  const batchId = crypto.randomUUID();
  const placeholders: string[] = [];
  for (let r = 0; r < runs; r++) {
    placeholders.push(`(${COLS.map((_, c) => `$${r * COLS.length + c + 1}`).join(',')})`);
  }
  const insert = `INSERT INTO ${table} (${COLS.join(',')}) VALUES ${placeholders.join(',')} RETURNING item_id`;
  return raw.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`queue:${table}`}))`;
    await tx.unsafe(
      `SELECT count(*)::int AS n FROM ${table} WHERE queue_id = $1 AND status IN ('pending', 'in_progress')`,
      [QUEUE],
      { prepare: true },
    );
    await tx`SELECT * FROM users WHERE user_id = ${userId} LIMIT 1`;
    await tx.unsafe(
      `SELECT count(*)::int AS n FROM ${table} WHERE queue_id = $1 AND status IN ('pending', 'in_progress') AND user_id = $2`,
      [QUEUE, userId],
      { prepare: true },
    );
    const now = new Date().toISOString();
    const params: (string | number | null)[] = [];
    for (let r = 0; r < runs; r++) {
      const sessionId = crypto.randomUUID();
      params.push(
        QUEUE,
        batchId,
        sessionId,
        0,
        null,
        JSON.stringify({ id: sessionId, graph }),
        null,
        null,
        null,
        now,
        now,
        userId,
      );
    }
    const rows = await tx.unsafe<{ item_id: number }[]>(insert, params, { prepare: true });
    await tx`INSERT INTO audit_log (at, actor_user_id, action, target_type, target_id, details, request_id)
      VALUES (${now}, ${userId}, 'queue.enqueued', 'batch', ${batchId},
              ${JSON.stringify({ queue_id: QUEUE, enqueued: rows.length, priority: 0 })}::jsonb, 'bench')`;
    return rows.map((r) => r.item_id).sort((a, b) => a - b);
  });
}

const LIST_SQL = `SELECT q.*, u.display_name AS user_display_name, u.email AS user_email
  FROM session_queue q LEFT JOIN users u ON u.user_id = q.user_id
  WHERE q.queue_id = $1`;
const ORDER_SQL = 'ORDER BY q.priority DESC, q.item_id ASC LIMIT $2';

function rawListFirst(raw: postgres.Sql, limit: number) {
  return raw.unsafe(`${LIST_SQL} ${ORDER_SQL}`, [QUEUE, limit + 1], { prepare: true });
}

/** The page after a cursor as listItems builds it: the rest of the cursor's priority, then lower ones. */
const LIST_AFTER_SQL = `(${LIST_SQL} AND q.priority = $3 AND q.item_id > $4 ${ORDER_SQL})
  UNION ALL
  (${LIST_SQL} AND q.priority < $3 ${ORDER_SQL})
  ORDER BY priority DESC, item_id ASC LIMIT $2`;

function rawListAfter(raw: postgres.Sql, limit: number, priority: number, itemId: number) {
  return raw.unsafe(LIST_AFTER_SQL, [QUEUE, limit + 1, priority, itemId], { prepare: true });
}

/** The statements getQueueStatus runs: queue counts then the running item, in parallel with the caller's counts. */
function rawStatus(raw: postgres.Sql, userId: string) {
  return Promise.all([
    (async () => {
      await raw`SELECT status, count(*)::int AS n FROM session_queue WHERE queue_id = ${QUEUE} GROUP BY status`;
      await raw`SELECT item_id FROM session_queue WHERE queue_id = ${QUEUE} AND status = 'in_progress'
        ORDER BY started_at ASC, item_id ASC LIMIT 1`;
    })(),
    raw`SELECT status, count(*)::int AS n FROM session_queue
      WHERE queue_id = ${QUEUE} AND user_id = ${userId} GROUP BY status`,
  ]);
}

/**
 * claimNextItem's statement, its text taken once from nextItemIdQuery (the same SQL), then run through the
 * bare driver with only the claim time changing: as a named prepared statement (`prepare`, postgres.js's
 * default) or unnamed, parsed and planned on every call (what Drizzle's postgres-js session sends).
 */
function rawClaimer(raw: postgres.Sql, fairness: QueueSettings['fairness'], prepare: boolean) {
  const AT = '\u0000at';
  const query = new PgDialect().sqlToQuery(dsql`WITH picked AS (${nextItemIdQuery(QUEUE, fairness, true)}),
    claimed AS (
      UPDATE session_queue q SET status = 'in_progress', started_at = ${AT}::timestamptz, updated_at = ${AT}::timestamptz
      FROM picked WHERE q.item_id = picked.item_id AND q.status = 'pending'
      RETURNING q.*
    ),
    turn AS (
      INSERT INTO queue_user_turns (queue_id, user_id, last_started_at)
      SELECT queue_id, user_id, started_at FROM claimed
      ON CONFLICT (queue_id, user_id) DO UPDATE SET last_started_at = EXCLUDED.last_started_at
    )
    SELECT claimed.*, u.display_name AS user_display_name, u.email AS user_email
    FROM claimed LEFT JOIN users u ON u.user_id = claimed.user_id`);
  const params = query.params.map(String);
  return async () => {
    const at = new Date().toISOString();
    const rows = await raw.unsafe(
      query.sql,
      params.map((p) => (p === AT ? at : p)),
      { prepare },
    );
    return rows[0];
  };
}

// ---- the run -------------------------------------------------------------------------------------------
interface ClaimResult {
  easel: number;
  raw: number;
  rawUnprepared: number;
  easelLat: Latency;
  rawLat: Latency;
  rawUnpreparedLat: Latency;
}

interface Results {
  enqueue: { easel: number; raw: number };
  listFirst: [Latency, Latency];
  listDeep: [Latency, Latency];
  deepPosition: number;
  status: [Latency, Latency];
  claims: Record<QueueSettings['fairness'], ClaimResult>;
  boss: {
    version: string;
    insert: number;
    send: number;
    fetchOne: number;
    fetchOneN: number;
    fetchBatch: number;
    fetchBatchN: number;
  };
  explainDeep: string;
}

async function run(db: BenchDb, cleanups: (() => Promise<void>)[]): Promise<Results> {
  const deps = benchDeps(db.easel);
  const setup = contextFromDeps(deps, 'bench-setup', null);
  const actors: AuthUser[] = [];
  for (let i = 0; i < USERS; i++) {
    const user = await createUser({
      ctx: setup,
      input: { email: `bench${i}@example.com`, password: 'bench password', display_name: `Bench ${i}` },
    });
    actors.push({ userId: user.user_id, email: user.email, isAdmin: false, via: 'token', token: null });
  }
  const ctxOf = (i: number): ServiceContext =>
    contextFromDeps(deps, `bench-${i}`, actors[i % USERS] as AuthUser);
  const viewer = ctxOf(0);
  const viewerId = (actors[0] as AuthUser).userId;

  // 1. Enqueue: Easel's enqueueBatch into session_queue, alternating with the bare-driver statements into a
  //    copy of the table (same columns and indexes), batch by batch, so both tables grow alike.
  await db.raw.unsafe('CREATE TABLE bench_raw_queue (LIKE session_queue INCLUDING ALL)');
  const batches = Math.ceil(ITEMS / BATCH);
  let easelMs = 0;
  let rawMs = 0;
  log(`enqueue ${fmtInt(ITEMS)} items in ${batches} batches of ${BATCH} over ${USERS} users`);
  for (let b = 0; b < batches; b++) {
    const runs = Math.min(BATCH, ITEMS - b * BATCH);
    let t = performance.now();
    const res = await enqueueBatch({
      ctx: ctxOf(b),
      input: { queueId: QUEUE, body: { batch: { graph: textToImageGraph({ prompt: 'a red cube' }), runs } } },
    });
    easelMs += ms(t);
    if (res.enqueued !== runs) {
      throw new Error(`enqueueBatch enqueued ${res.enqueued}, expected ${runs}`);
    }
    t = performance.now();
    await rawEnqueue(db.raw, 'bench_raw_queue', (actors[b % USERS] as AuthUser).userId, runs);
    rawMs += ms(t);
    if ((b + 1) % 20 === 0) {
      log(`  ${b + 1}/${batches} batches: Easel ${fmtInt(((b + 1) * BATCH) / (easelMs / 1000))} items/s`);
    }
  }
  const enqueue = { easel: ITEMS / (easelMs / 1000), raw: ITEMS / (rawMs / 1000) };
  await db.raw.unsafe('DROP TABLE bench_raw_queue');
  // The state autovacuum reaches on its own after a bulk load: statistics and visibility map up to date
  // (and the only vacuum here when the server runs with autovacuum off).
  await db.raw.unsafe('VACUUM (ANALYZE) session_queue');

  // 2./3. Reads, Easel and bare driver alternately.
  log(`list first page (limit 50), ${READ_SAMPLES} samples each`);
  const listFirst = await alternate(
    READ_SAMPLES,
    () => listItems({ ctx: viewer, input: { queueId: QUEUE, query: { limit: 50 } } }),
    () => rawListFirst(db.raw, 50),
  );
  const deepPosition = Math.floor(ITEMS * 0.9);
  const [deep] = await db.raw<{ priority: number; item_id: number }[]>`SELECT priority, item_id
    FROM session_queue WHERE queue_id = ${QUEUE}
    ORDER BY priority DESC, item_id ASC OFFSET ${deepPosition - 1} LIMIT 1`;
  if (!deep) {
    throw new Error('no item at the deep cursor position');
  }
  const cursor = encodeCursor({ priority: deep.priority, itemId: deep.item_id });
  const page = await listItems({ ctx: viewer, input: { queueId: QUEUE, query: { limit: 50, cursor } } });
  if (page.items.length !== 50 || (page.items[0]?.item_id ?? 0) <= deep.item_id) {
    throw new Error('the deep cursor page is not where expected');
  }
  log(`list after a cursor ${fmtInt(deepPosition)} items in, ${READ_SAMPLES} samples each`);
  const listDeep = await alternate(
    READ_SAMPLES,
    () => listItems({ ctx: viewer, input: { queueId: QUEUE, query: { limit: 50, cursor } } }),
    () => rawListAfter(db.raw, 50, deep.priority, deep.item_id),
  );
  const plan = await db.raw.unsafe<{ 'QUERY PLAN': string }[]>(
    `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${LIST_AFTER_SQL}`,
    [QUEUE, 51, deep.priority, deep.item_id],
  );
  const explainDeep = plan.map((r) => r['QUERY PLAN']).join('\n');
  log(`queue status, ${READ_SAMPLES} samples each`);
  const status = await alternate(
    READ_SAMPLES,
    () => getQueueStatus({ ctx: viewer, input: { queueId: QUEUE } }),
    () => rawStatus(db.raw, viewerId),
  );

  // Claims: Easel's claimNextItem and the same statement on the bare driver (as a named prepared statement,
  // the driver's default, and unnamed, as Drizzle sends it), in alternating chunks so that all three meet
  // the same dead index entries left by earlier claims.
  const claims = {} as Results['claims'];
  for (const fairness of ['fifo', 'round_robin'] as const) {
    log(`claim ${fmtInt(CLAIMS)} items (${fairness}) each`);
    const variants = [
      () =>
        claimNext(db.easel.db, {
          queueId: QUEUE,
          fairness,
          workerId: 'bench/0:cpu',
          device: 'cpu',
          now: new Date(),
        }),
      rawClaimer(db.raw, fairness, true),
      rawClaimer(db.raw, fairness, false),
    ];
    const samples: number[][] = variants.map(() => []);
    const CHUNK = Math.min(250, CLAIMS);
    for (let done = 0; done < CLAIMS; done += CHUNK) {
      for (const [v, claim] of variants.entries()) {
        for (let i = 0; i < CHUNK; i++) {
          const t = performance.now();
          const item = await claim();
          samples[v]?.push(ms(t));
          if (!item) {
            throw new Error('nothing left to claim');
          }
        }
      }
    }
    const [se = [], sr = [], su = []] = samples;
    const rate = (s: number[]) => s.length / (s.reduce((a, b) => a + b, 0) / 1000);
    claims[fairness] = {
      easel: rate(se),
      raw: rate(sr),
      rawUnprepared: rate(su),
      easelLat: latency(se),
      rawLat: latency(sr),
      rawUnpreparedLat: latency(su),
    };
  }

  // 4. pg-boss on the same database, in its own schema, with its own `pg` pool.
  log('pg-boss: start');
  const boss = new PgBoss({
    connectionString: db.url,
    schema: 'pgboss',
    max: 4,
    supervise: false,
    schedule: false,
    migrate: true,
  });
  boss.on('error', (err) => log(`pg-boss error: ${String(err)}`));
  cleanups.unshift(() => boss.stop({ graceful: false, close: true, wait: true }));
  await boss.start();
  const name = 'bench';
  await boss.createQueue(name);
  const payload = (i: number) => ({
    session: { id: `job-${i}`, graph: textToImageGraph({ prompt: 'a red cube' }) },
  });
  log(`pg-boss: insert ${fmtInt(ITEMS)} jobs, ${BATCH} per call`);
  let t = performance.now();
  for (let b = 0; b < batches; b++) {
    const n = Math.min(BATCH, ITEMS - b * BATCH);
    await boss.insert(Array.from({ length: n }, (_, i) => ({ name, data: payload(b * BATCH + i) })));
  }
  const insert = ITEMS / (ms(t) / 1000);
  log(`pg-boss: send ${fmtInt(BOSS_SENDS)} jobs one at a time`);
  t = performance.now();
  for (let i = 0; i < BOSS_SENDS; i++) {
    await boss.send(name, payload(ITEMS + i));
  }
  const send = BOSS_SENDS / (ms(t) / 1000);
  await db.raw.unsafe('VACUUM (ANALYZE)');
  // pg-boss 10 sorts every queued job of the queue on each fetch, so its fetches are also bounded in time.
  const fetchFor = async (max: number, batchSize: number) => {
    const t0 = performance.now();
    let got = 0;
    while (got < max && ms(t0) < BOSS_FETCH_SECONDS * 1000) {
      const jobs = await boss.fetch(name, { batchSize });
      if (jobs.length === 0) {
        throw new Error('pg-boss fetch returned no job');
      }
      got += jobs.length;
    }
    return { got, rate: got / (ms(t0) / 1000) };
  };
  log(`pg-boss: fetch up to ${fmtInt(CLAIMS)} jobs one at a time (at most ${BOSS_FETCH_SECONDS} s)`);
  const one = await fetchFor(CLAIMS, 1);
  const batchJobs = Math.min(4 * CLAIMS, ITEMS - CLAIMS);
  log(
    `pg-boss: fetch up to ${fmtInt(batchJobs)} jobs, ${BOSS_FETCH_BATCH} per call (at most ${BOSS_FETCH_SECONDS} s)`,
  );
  const many = await fetchFor(batchJobs, BOSS_FETCH_BATCH);
  const fetchOne = one.rate;
  const fetchBatch = many.rate;
  const [ver] = await db.raw<{ version: number }[]>`SELECT version FROM pgboss.version`;
  return {
    enqueue,
    listFirst,
    listDeep,
    deepPosition,
    status,
    claims,
    boss: {
      version: String(ver?.version ?? '?'),
      insert,
      send,
      fetchOne,
      fetchOneN: one.got,
      fetchBatch,
      fetchBatchN: many.got,
    },
    explainDeep,
  };
}

// ---- the report ----------------------------------------------------------------------------------------
async function pgBossVersion(): Promise<string> {
  const pkg = JSON.parse(
    await readFile(new URL('../node_modules/pg-boss/package.json', import.meta.url), 'utf8'),
  );
  return String(pkg.version);
}

function report(
  r: Results,
  meta: { pg: string; bossPkg: string; seconds: number; load: string; autovacuum: string },
): string {
  const ratioLat = (pair: [Latency, Latency]) => pair[0].p50 / pair[1].p50;
  const overhead = (ratio: number) => `ORM ≤ 1.3× raw (p50 ${ratio.toFixed(2)}×): ${verdict(ratio <= 1.3)}`;
  const listTarget = (pair: [Latency, Latency]) =>
    `Easel p99 < 10 ms: ${verdict(pair[0].p99 < 10)}; ${overhead(ratioLat(pair))}`;
  const claimTarget = (c: ClaimResult) =>
    [
      `≥ 2,000/s: ${verdict(c.easel >= 2000)}`,
      `≥ pg-boss fetch (${fmtInt(r.boss.fetchOne)}/s): ${verdict(c.easel >= r.boss.fetchOne)}`,
      `ORM ≤ 1.3× raw (${(c.raw / c.easel).toFixed(2)}×): ${verdict(c.raw / c.easel <= 1.3)}`,
    ].join('; ');
  const rows: string[][] = [
    [
      `Enqueue ${fmtInt(ITEMS)} items, ${BATCH} per call (items/s)`,
      fmtInt(r.enqueue.easel),
      fmtInt(r.enqueue.raw),
      `${fmtInt(r.boss.insert)} (\`insert\`)`,
      `ORM ≤ 1.3× raw (${(r.enqueue.raw / r.enqueue.easel).toFixed(2)}×): ${verdict(r.enqueue.raw / r.enqueue.easel <= 1.3)}`,
    ],
    ['Enqueue one at a time (items/s)', '–', '–', `${fmtInt(r.boss.send)} (\`send\`)`, '–'],
    [
      'List, first page of 50 (p50 / p99)',
      fmtLat(r.listFirst[0]),
      fmtLat(r.listFirst[1]),
      '–',
      listTarget(r.listFirst),
    ],
    [
      `List, 50 after a cursor ${fmtInt(r.deepPosition)} items in (p50 / p99)`,
      fmtLat(r.listDeep[0]),
      fmtLat(r.listDeep[1]),
      '–',
      listTarget(r.listDeep),
    ],
    ['Queue status (p50 / p99)', fmtLat(r.status[0]), fmtLat(r.status[1]), '–', overhead(ratioLat(r.status))],
    ...(['fifo', 'round_robin'] as const).flatMap((f) => [
      [
        `Claim next item, ${f} (items/s; p50 / p99)`,
        `${fmtInt(r.claims[f].easel)}; ${fmtLat(r.claims[f].easelLat)}`,
        `${fmtInt(r.claims[f].raw)}; ${fmtLat(r.claims[f].rawLat)}`,
        `${fmtInt(r.boss.fetchOne)} (\`fetch\`, 1 per call, ${fmtInt(r.boss.fetchOneN)} jobs)`,
        claimTarget(r.claims[f]),
      ],
      [
        `Claim next item, ${f}, unnamed statement as Drizzle sends it (items/s; p50 / p99)`,
        '–',
        `${fmtInt(r.claims[f].rawUnprepared)}; ${fmtLat(r.claims[f].rawUnpreparedLat)}`,
        '–',
        '–',
      ],
    ]),
    [
      `Fetch in batches of ${BOSS_FETCH_BATCH} (items/s)`,
      '–',
      '–',
      `${fmtInt(r.boss.fetchBatch)} (\`fetch\`, batchSize ${BOSS_FETCH_BATCH}, ${fmtInt(r.boss.fetchBatchN)} jobs)`,
      '–',
    ],
  ];
  const table = [
    '| Measurement | Easel (ORM) | raw postgres driver | pg-boss | Target |',
    '|---|---|---|---|---|',
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
  ].join('\n');
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `# Queue benchmark

- Date: ${new Date().toISOString()}
- Machine: nproc ${availableParallelism()} (${cpu}); load average at start ${meta.load}
- Node ${process.version}; PostgreSQL ${meta.pg}; pg-boss ${meta.bossPkg} (schema version ${r.boss.version})
- Data: ${fmtInt(ITEMS)} items over ${USERS} users; ${READ_SAMPLES} timed samples per read (after a warm-up),
  ${fmtInt(CLAIMS)} claims per fairness and implementation; whole run ${meta.seconds.toFixed(0)} s.
- Command: \`npm run bench:queue\` (\`npx tsx bench/queue.ts\`); method in bench/README.md.

${table}

Easel (ORM) calls the services (enqueueBatch, listItems, getQueueStatus, claimNextItem). The bare driver
runs the same statements as named prepared statements (postgres.js's default); Drizzle's postgres-js
session sends unnamed ones, parsed and planned on every call, and the "unnamed statement" rows show what
that alone costs. Bare enqueue writes to a copy of session_queue (same indexes) so Easel's data set stays as
enqueued. Claims and fetches are one call at a time on one connection, each its own transaction
(synchronous_commit on). session_queue is VACUUM ANALYZEd once after the enqueue (this server runs with
autovacuum ${meta.autovacuum}). The ORM/raw ratio is Easel's p50 (or rate) over the bare driver's.

Plan of the deep-cursor page (bare driver):

\`\`\`
${r.explainDeep}
\`\`\`
`;
}

// ---- main ----------------------------------------------------------------------------------------------
async function main() {
  const started = performance.now();
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const cleanups: (() => Promise<void>)[] = [];
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) {
      return;
    }
    cleaned = true;
    for (const fn of cleanups) {
      try {
        await fn();
      } catch (err) {
        log(`cleanup: ${String(err)}`);
      }
    }
  };
  process.once('SIGINT', () => {
    log('interrupted: cleaning up');
    void cleanup().finally(() => process.exit(130));
  });

  const db = await openBenchDb();
  cleanups.push(
    () => db.raw.end({ timeout: 5 }),
    () => db.easel.close(),
    async () => {
      await db.admin.unsafe(`DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`);
      log(`dropped ${db.name}`);
    },
    () => db.admin.end({ timeout: 5 }),
  );
  log(`database ${db.name}`);
  try {
    const [pg] = await db.raw<{ server_version: string }[]>`SHOW server_version`;
    const [av] = await db.raw<{ autovacuum: string }[]>`SHOW autovacuum`;
    const results = await run(db, cleanups);
    const md = report(results, {
      pg: pg?.server_version ?? '?',
      bossPkg: await pgBossVersion(),
      seconds: ms(started) / 1000,
      load,
      autovacuum: av?.autovacuum ?? '?',
    });
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    await writeFile(RESULTS, md);
    console.log(md);
    log(`wrote ${RESULTS.pathname}`);
  } finally {
    await cleanup();
  }
}

await main();
