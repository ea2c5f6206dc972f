/**
 * What one queue item costs (issue 15): one Easel process on PostgreSQL, built as the Node entry builds it
 * (`buildDeps` with LISTEN/NOTIFY, so every event goes through the channel log), one `FakeRuntime` worker
 * whose denoise step takes `--item-ms` (50 by default; 0: back to back), real sharp encodes into a memory
 * blob store. Runs `--items` items of `--users` users (round robin) and prints per item: transactions
 * (commits), statements by kind, the process's CPU and the database backends' CPU. `--profile` adds the
 * process's JavaScript self time by function and by file (the V8 profiler, over the measured run only);
 * `--codec=none` replaces sharp by a codec that encodes nothing (what the encodes cost);
 * `ITEM_COST_PROFILE_OUT=<file>` with `--profile` also writes the raw `.cpuprofile` (for a caller tree).
 * See bench/README.md.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { availableParallelism, loadavg } from 'node:os';
import postgres from 'postgres';
import { buildDeps, startWorkers } from '../src/boot.ts';
import type { ImageCodec } from '../src/core/images.ts';
import { createJsonLogger } from '../src/core/logger.ts';
import { contextFromDeps } from '../src/deps.ts';
import { parseEnv } from '../src/env.ts';
import { readableSinks } from '../src/http/readable-sink.ts';
import { MemoryBlobStore } from '../src/images/memory-blob-store.ts';
import { nodeFiles } from '../src/node/boot.ts';
import { openPostgres } from '../src/node/postgres-client.ts';
import { sharpCodec } from '../src/node/sharp-images.ts';
import { FakeRuntime } from '../src/runtime/fake-runtime.ts';
import { pbkdf2Hasher } from '../src/services/auth/passwords.ts';
import { enqueueBatch } from '../src/services/queue/enqueue-batch.ts';
import { createUser } from '../src/services/users/index.ts';
import { setQueuePaused } from '../src/worker/claim.ts';
import { PG_ADMIN_URL } from '../tests/helpers/database.ts';
import { textToImageGraph } from '../tests/helpers/graphs.ts';
import { backendCpu, cpuSince } from './pg-cpu.ts';

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const ITEMS = Number(arg('items', '300'));
const USERS = Number(arg('users', '20'));
const ITEM_MS = Number(arg('item-ms', '50'));
const CODEC = arg('codec', 'sharp');
const PROFILE = process.argv.includes('--profile');
const ADMIN_URL = process.env.BENCH_PG_URL ?? PG_ADMIN_URL;
const RESULTS = new URL('./results/item-cost.md', import.meta.url);
const log = (msg: string) => console.error(`[item-cost] ${msg}`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Statements by kind, and transactions, as the driver sent them (its `debug` hook). */
class StatementCounter {
  readonly kinds = new Map<string, number>();
  commits = 0;
  statements = 0;
  readonly #inTx = new Set<number>();
  counting = false;

  see(connection: number, text: string): void {
    if (!this.counting) {
      return;
    }
    const kind = text.replace(/\s+/g, ' ').trim().slice(0, 90);
    const word = kind.split(' ')[0]?.toLowerCase() ?? '';
    this.statements++;
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    if (word === 'begin') {
      this.#inTx.add(connection);
    } else if (word === 'commit' || word === 'rollback') {
      this.#inTx.delete(connection);
      this.commits += word === 'commit' ? 1 : 0;
    } else if (!this.#inTx.has(connection)) {
      this.commits++;
    }
  }
}

/** A codec that encodes nothing: what the run costs without sharp. */
const noCodec = (real: ImageCodec): ImageCodec => ({
  ...real,
  encodePng: async () => new Uint8Array(8),
  thumbnailOfPixels: async () => new Uint8Array(8),
});

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Self time (ms) by function and by file of a V8 CPU profile. */
function summarise(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  for (const [id, ms] of self) {
    const f = byId.get(id)?.callFrame;
    if (!f) {
      continue;
    }
    const url = f.url.replace(/^file:\/\//, '').replace(process.cwd(), '');
    const file = url.includes('node_modules/')
      ? `node_modules/${url.split('node_modules/')[1]?.split('/')[0]}`
      : url || f.functionName;
    const fn = `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`;
    fns.set(fn, (fns.get(fn) ?? 0) + ms);
    files.set(file, (files.get(file) ?? 0) + ms);
  }
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { fns: top(fns, 25), files: top(files, 20) };
}

async function main() {
  const name = `easel_bench_${crypto.randomUUID().replaceAll('-', '')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  const counter = new StatementCounter();
  const database = openPostgres(u.toString(), { max: 5, onQuery: (c, text) => counter.see(c, text) });
  const loadStart = loadavg()[0]?.toFixed(2);
  try {
    const env = parseEnv({
      DATABASE_URL: u.toString(),
      JWT_SECRET: 'bench-item-cost-secret-bench-item-cost-secret-0123',
      QUEUE_MAX_SIZE: '10000000',
      USER_MAX_PENDING: '10000000',
      LOG_LEVEL: 'warn',
      DEVICES: 'cpu',
    });
    const runtime = new FakeRuntime({ beforeStep: () => (ITEM_MS > 0 ? sleep(ITEM_MS) : undefined) });
    const logger = createJsonLogger({ level: 'warn', write: (line) => process.stderr.write(`${line}\n`) });
    const images = CODEC === 'none' ? noCodec(sharpCodec()) : sharpCodec();
    const { deps, pool } = await buildDeps({
      env,
      database,
      files: nodeFiles,
      notifier: database.notifier,
      logger,
      projectRoot: new URL('../', import.meta.url).pathname,
      persistSecret: false,
      clientAddress: () => undefined,
      images,
      blobs: new MemoryBlobStore(),
      streamSinks: readableSinks,
      workers: [{ device: 'cpu', runtime }],
    });
    const setup = { ...contextFromDeps(deps, 'bench', null), passwords: pbkdf2Hasher(1000) };
    await setQueuePaused(database.db, 'default', true, new Date());
    const perUser = Math.ceil(ITEMS / USERS);
    for (let i = 0; i < USERS; i++) {
      const user = await createUser({
        ctx: setup,
        input: { email: `user${i}@example.com`, password: 'bench password', is_admin: false },
      });
      await enqueueBatch({
        ctx: {
          ...setup,
          actor: { userId: user.user_id, email: user.email, isAdmin: false, via: 'token', token: null },
        },
        input: {
          queueId: 'default',
          body: { batch: { graph: textToImageGraph({ steps: 1 }), runs: perUser } },
        },
      });
    }
    const total = perUser * USERS;
    let done = 0;
    let allDone: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      allDone = resolve;
    });
    deps.channels.observe((e) => {
      if (e.name === 'queue_item_status_changed' && e.data.status === 'completed' && ++done === total) {
        allDone();
      }
    });
    const sweeper = await startWorkers(deps, pool, [runtime], env.LEASE_SECONDS);
    await deps.channels.appended?.();
    log(`${total} items of ${USERS} users enqueued; ${ITEM_MS} ms per item; codec ${CODEC}; resuming`);
    const session = new Session();
    if (PROFILE) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const pg0 = await backendCpu(admin, name);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    counter.counting = true;
    await setQueuePaused(database.db, 'default', false, new Date());
    await finished;
    const wall = performance.now() - t0;
    // The last item's registry update and the trailing queue_status recount belong to the run.
    await deps.channels.appended?.();
    await sleep(400);
    counter.counting = false;
    const cpu = process.cpuUsage(cpu0);
    const pgMs = cpuSince(pg0, await backendCpu(admin, name));
    const profile = PROFILE ? (await session.post('Profiler.stop')).profile : undefined;
    await pool?.close();
    await sweeper.close();
    await deps.channels.shutdown();
    const per = (n: number) => (n / total).toFixed(2);
    const nodeMs = (cpu.user + cpu.system) / 1000;
    const loadEnd = loadavg()[0]?.toFixed(2);
    const lines = [
      `# Item cost (\`npm run bench:item-cost -- ${process.argv.slice(2).join(' ')}\`)`,
      '',
      `- ${new Date().toISOString()}; nproc ${availableParallelism()}; load average ${loadStart} → ${loadEnd}; Node ${process.version}`,
      `- ${total} items, ${USERS} users, round robin, one worker, ${ITEM_MS} ms per item, codec ${CODEC}; ${(total / (wall / 1000)).toFixed(1)} items/s`,
      '',
      '| per item | value |',
      '|---|---:|',
      `| transactions (commits) | ${per(counter.commits)} |`,
      `| statements (BEGIN/COMMIT included) | ${per(counter.statements)} |`,
      `| Easel process CPU (ms) | ${per(nodeMs)} |`,
      `| PostgreSQL backends CPU (ms) | ${per(pgMs)} |`,
      '',
      '| statements per item, by kind (first 90 characters) | per item |',
      '|---|---:|',
      ...[...counter.kinds]
        .sort((a, b) => b[1] - a[1])
        .map(([kind, n]) => `| \`${kind.replaceAll('|', '\\|')}\` | ${per(n)} |`),
    ];
    if (profile) {
      if (process.env.ITEM_COST_PROFILE_OUT) {
        await writeFile(process.env.ITEM_COST_PROFILE_OUT, JSON.stringify(profile));
      }
      const { fns, files } = summarise(profile as never);
      lines.push(
        '',
        '| JavaScript self time by file or package (ms per item) | ms |',
        '|---|---:|',
        ...files.map(([f, ms]) => `| ${f} | ${per(ms)} |`),
        '',
        '| JavaScript self time by function (ms per item) | ms |',
        '|---|---:|',
        ...fns.map(([f, ms]) => `| \`${f}\` | ${per(ms)} |`),
      );
    }
    const text = `${lines.join('\n')}\n`;
    process.stdout.write(text);
    await writeFile(RESULTS, text);
  } finally {
    await database.close();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
