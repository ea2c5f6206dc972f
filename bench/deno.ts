/**
 * `npm run bench:deno`: the same server on Node (`npm start`: src/main.node.ts) and on Deno (`deno task start`
 * runs `deno run -A src/main.deno.ts`), started as child processes on PGlite in a fresh temp DATA_DIR,
 * alternating runtime by runtime for `BENCH_ROUNDS` rounds, and writes the table to bench/results/deno.md.
 *
 * Each figure comes as wall time and as CPU time of the server's process tree (the server and its inference
 * child, from /proc: user + system), which other work on a shared machine disturbs far less than wall time.
 * Per start: (1) **listening**: spawn → the `listening on` line (imports, a new PGlite data directory, the
 * migrations, the admin from ADMIN_EMAIL); (2) **first image**: spawn → the first item `completed` on the
 * owner's event stream, for an item enqueued as soon as the server listens (login, the model loading in the
 * inference child, a 64×64 4-step generation, the PNG and thumbnail through sharp); (3) **per image, warm**:
 * a batch of `BENCH_ITEMS` such items, enqueue → last `completed`, divided by the count; (4) **GET
 * /api/v1/auth/me**: `BENCH_CONCURRENCY` fetch loops in this (Node) process for `BENCH_SECONDS`: requests
 * per second, latency percentiles, and the server's CPU per request; (5) **events**: the denoise
 * `invocation_progress` frames of (3) at `PROGRESS_MAX_HZ=1000` all arrive on the stream, checked by count.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { textToImageGraph } from '../tests/helpers/graphs.ts';
import { type SseFrame, SseReader } from '../tests/helpers/sse.ts';
import { childEnv, freePort, projectRoot, startServer } from '../tests/node/spawn.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ITEMS = Number(process.env.BENCH_ITEMS ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ADMIN = { email: 'admin@example.com', password: 'correct horse battery' };
const STEPS = 4;

const RUNTIMES = {
  node: { command: process.execPath, args: ['--import', 'tsx', 'src/main.node.ts'] },
  deno: {
    command: join(projectRoot, 'node_modules', '.bin', 'deno'),
    args: ['run', '-A', 'src/main.deno.ts'],
  },
} as const;
type Runtime = keyof typeof RUNTIMES;

interface Sample {
  listenMs: number;
  listenCpuMs: number;
  firstImageMs: number;
  firstImageCpuMs: number;
  perImageMs: number;
  perImageCpuMs: number;
  meRps: number;
  meP50: number;
  meP99: number;
  meCpuUs: number;
  progressFrames: number;
}

const TICK_MS = 10; // USER_HZ = 100 on Linux

/** CPU time (user + system, ms) of a process and its live descendants, from /proc; 0 for one that is gone. */
async function treeCpuMs(pid: number): Promise<number> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // Fields after the command name (which may hold spaces) in parentheses: utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let ms = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  const children: number[] = [];
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const list = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    children.push(...list.split(' ').filter(Boolean).map(Number));
  }
  for (const child of children) {
    ms += await treeCpuMs(child);
  }
  return ms;
}

const completed = (ids: number[]) => (frames: SseFrame[]) => {
  const done = new Set(
    frames
      .filter((f) => f.event === 'queue_item_status_changed')
      .map((f) => f.data as { item_id: number; status: string })
      .filter((d) => d.status === 'completed')
      .map((d) => d.item_id),
  );
  return ids.every((id) => done.has(id));
};

async function once(runtime: Runtime): Promise<Sample> {
  const root = await mkdtemp(join(tmpdir(), `easel-bench-${runtime}-`));
  const port = await freePort();
  const env = childEnv({
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: join(root, 'data'),
    MODELS_DIR: join(projectRoot, 'models'),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    PROGRESS_MAX_HZ: '1000',
    LOG_LEVEL: 'warn',
    NO_COLOR: '1',
  });
  const t0 = performance.now();
  const server = await startServer(RUNTIMES[runtime].command, [...RUNTIMES[runtime].args], env, 300_000);
  const listenMs = performance.now() - t0;
  const pid = server.child.pid as number;
  const listenCpuMs = await treeCpuMs(pid);
  try {
    const post = (path: string, token: string | null, body: unknown) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
    const { token } = (await (await post('/api/v1/auth/login', null, ADMIN)).json()) as { token: string };
    const res = await fetch(`${server.url}/api/v1/events?queue_id=default`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const sse = new SseReader(res.body);
    await sse.untilEvent('connected');
    const enqueue = async (runs: number) => {
      const graph = textToImageGraph({ steps: STEPS, seed: 1 });
      const r = await post('/api/v1/queue/default/enqueue_batch', token, { batch: { graph, runs } });
      return ((await r.json()) as { item_ids: number[] }).item_ids;
    };
    const first = await enqueue(1);
    await sse.until(completed(first), 'the first image', 300_000);
    const firstImageMs = performance.now() - t0;
    const firstImageCpuMs = await treeCpuMs(pid);

    const t1 = performance.now();
    const c1 = await treeCpuMs(pid);
    const batch = await enqueue(ITEMS);
    await sse.until(completed(batch), 'the batch', 600_000);
    const perImageMs = (performance.now() - t1) / ITEMS;
    const perImageCpuMs = ((await treeCpuMs(pid)) - c1) / ITEMS;
    const inBatch = new Set(batch);
    const progressFrames = sse.frames.filter(
      (f) =>
        f.event === 'invocation_progress' &&
        inBatch.has((f.data as { item_id: number }).item_id) &&
        (f.data as { invocation: { id: string } }).invocation.id === 'denoise',
    ).length;
    await sse.close();

    const latencies: number[] = [];
    const c2 = await treeCpuMs(pid);
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < until) {
          const t = performance.now();
          const r = await fetch(`${server.url}/api/v1/auth/me`, {
            headers: { Authorization: `Bearer ${token}` },
          });
          await r.arrayBuffer();
          if (r.status !== 200) {
            throw new Error(`GET /auth/me answered ${r.status}`);
          }
          latencies.push(performance.now() - t);
        }
      }),
    );
    const meCpuUs = (((await treeCpuMs(pid)) - c2) * 1000) / latencies.length;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
    return {
      listenMs,
      listenCpuMs,
      firstImageMs,
      firstImageCpuMs,
      perImageMs,
      perImageCpuMs,
      meRps: latencies.length / SECONDS,
      meP50: pct(0.5),
      meP99: pct(0.99),
      meCpuUs,
      progressFrames,
    };
  } finally {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

const samples: Record<Runtime, Sample[]> = { node: [], deno: [] };
const loadBefore = loadavg()[0]?.toFixed(2);
for (let round = 0; round < ROUNDS; round++) {
  for (const runtime of ['node', 'deno'] as const) {
    const s = await once(runtime);
    samples[runtime].push(s);
    console.error(
      `${runtime} round ${round + 1}: ${JSON.stringify(s, (_, v) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))}`,
    );
  }
}
const loadAfter = loadavg()[0]?.toFixed(2);

const row = (label: string, pick: (s: Sample) => number, digits = 0) =>
  `| ${label} | ${(['node', 'deno'] as const).map((r) => median(samples[r].map(pick)).toFixed(digits)).join(' | ')} |`;
const expected = ITEMS * STEPS;
const table = [
  '| median of the rounds | Node (`npm start`) | Deno (`deno task start`) |',
  '|---|---|---|',
  row('start → listening: wall (ms; a new PGlite data dir)', (s) => s.listenMs),
  row('… CPU of the server (ms)', (s) => s.listenCpuMs),
  row('start → first image completed: wall (ms)', (s) => s.firstImageMs),
  row('… CPU of the server and its inference child (ms)', (s) => s.firstImageCpuMs),
  row(`per image, warm, batch of ${ITEMS} (64×64, ${STEPS} steps): wall (ms)`, (s) => s.perImageMs),
  row('… CPU of the server and its inference child (ms)', (s) => s.perImageCpuMs),
  row(`GET /api/v1/auth/me, ${CONCURRENCY} concurrent: req/s`, (s) => s.meRps),
  row('… latency p50 (ms)', (s) => s.meP50, 2),
  row('… latency p99 (ms)', (s) => s.meP99, 2),
  row('… server CPU per request (µs)', (s) => s.meCpuUs),
  row(`denoise progress frames received (of ${expected})`, (s) => s.progressFrames),
].join('\n');
const header = [
  '# Node against Deno: the same server (`npm run bench:deno`)',
  '',
  `${new Date().toISOString()}; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; load average ${loadBefore} before, ${loadAfter} after; Node ${process.version}; ${ROUNDS} rounds, runtimes alternating; the client is this Node process.`,
  '',
  '',
].join('\n');
console.log(table);
await writeFile(join(projectRoot, 'bench', 'results', 'deno.md'), `${header}${table}\n`);
