/**
 * `npm run bench:runtime`: the generation runtime against a bare ONNX loop (the limit), on the bundled tiny
 * model and on a larger generated model, and writes the table to bench/results/runtime.md.
 *
 * Easel: the real server's parts in this process (PGlite in a temp DATA_DIR, the scheduler, the inference
 * child process, sharp, the file blob store), N items enqueued through the HTTP API at once; time per item
 * is the wall time from the first `in_progress` to the last `completed`, divided by N. Bare: the same
 * model folder loaded in this process with onnxruntime-node and the same pipeline calls (two prompts, noise,
 * every denoise step, VAE decode), N times in a row, nothing else. The event-loop delay is sampled in this
 * process (where the HTTP server and the scheduler live) while Easel generates.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeTinyModel } from '../scripts/tiny-model/write.ts';
import { createApp } from '../src/app.ts';
import { startWorkers } from '../src/boot.ts';
import type { ServerEvent } from '../src/core/events.ts';
import { createJsonLogger } from '../src/core/logger.ts';
import { parseEnv } from '../src/env.ts';
import { buildNodeDeps } from '../src/node/boot.ts';
import { loadDiffusionModel } from '../src/node/onnx-model.ts';
import { decodeLatents, denoise, encodePrompt, makeNoise } from '../src/runtime/pipeline.ts';
import { textToImageGraph } from '../tests/helpers/graphs.ts';
import { scratchDatabase } from './scratch-database.ts';

interface Case {
  label: string;
  model: string;
  size: number;
  steps: number;
  items: number;
}

const CASES: Case[] = [
  {
    label: 'tiny-sd, 64×64, 4 steps',
    model: 'tiny-sd',
    size: 64,
    steps: 4,
    items: Number(process.env.BENCH_ITEMS_SMALL ?? 30),
  },
  {
    label: 'tiny-sd, 512×512, 20 steps',
    model: 'tiny-sd',
    size: 512,
    steps: 20,
    items: Number(process.env.BENCH_ITEMS ?? 12),
  },
  {
    label: 'tiny-sd-large, 512×512, 20 steps',
    model: 'tiny-sd-large',
    size: 512,
    steps: 20,
    items: Number(process.env.BENCH_ITEMS ?? 12),
  },
  {
    label: 'tiny-sd-large, 1024×1024, 20 steps',
    model: 'tiny-sd-large',
    size: 1024,
    steps: 20,
    items: Number(process.env.BENCH_ITEMS_LARGE ?? 6),
  },
];
const ADMIN = { email: 'bench@example.com', password: 'correct horse battery' };
/** With `BENCH_PG_URL`, Easel runs on a fresh PostgreSQL database per case instead of PGlite. */
const PG_URL = process.env.BENCH_PG_URL;

interface Row {
  label: string;
  easelMs: number;
  bareMs: number;
  loopP99: number;
  loopMax: number;
  progressPerS: number;
  itemsPerMin: number;
  rssMb: number;
  childRssMb: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function childRss(pid: number | undefined): Promise<number> {
  if (!pid) {
    return 0;
  }
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : 0;
}

/** The same inference the scheduler asks of its child, in this process, nothing else. */
async function bare(folder: string, c: Case): Promise<number> {
  const model = await loadDiffusionModel(folder, { executionProvider: 'cpu', warn: () => {}, threads: 0 });
  const once = async (seed: number) => {
    const positive = await encodePrompt(model, 'a lighthouse at dusk');
    const negative = await encodePrompt(model, '');
    const noise = makeNoise(seed, c.size, c.size, model.manifest);
    const latents = await denoise(model, {
      positive,
      negative,
      noise,
      steps: c.steps,
      cfgScale: 7.5,
      scheduler: 'euler',
      denoisingStart: 0,
      denoisingEnd: 1,
      seed,
    });
    await decodeLatents(model, latents);
  };
  await once(0); // warm-up
  const times: number[] = [];
  for (let i = 0; i < c.items; i++) {
    const t = performance.now();
    await once(i + 1);
    times.push(performance.now() - t);
  }
  await model.release();
  return mean(times);
}

async function easel(modelsDir: string, c: Case): Promise<Omit<Row, 'label' | 'bareMs'>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'easel-bench-runtime-'));
  const pg = PG_URL ? await scratchDatabase(PG_URL) : null;
  const env = parseEnv({
    DATABASE_URL: pg?.url,
    DATA_DIR: dataDir,
    MODELS_DIR: modelsDir,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: 'warn',
  });
  const logger = createJsonLogger({ level: 'warn' });
  const { deps, pool, database, runtimes } = await buildNodeDeps(env, logger);
  const runtime = runtimes[0] as (typeof runtimes)[number];
  const seen: ServerEvent[] = [];
  let waiting: { ids: Set<unknown>; resolve: () => void } | null = null;
  deps.channels.observe((e) => {
    seen.push(e);
    if (waiting && e.name === 'queue_item_status_changed' && e.data.status === 'completed') {
      waiting.ids.delete(e.data.item_id);
      if (waiting.ids.size === 0) {
        waiting.resolve();
      }
    }
  });
  /** Resolves when every item of `enqueue`'s answer has completed (events, not polling). */
  const completed = async (enqueue: Promise<{ item_ids: number[] }>) => {
    const done = new Promise<void>((resolve) => {
      waiting = { ids: new Set(), resolve };
    });
    const { item_ids } = await enqueue;
    const ids = (waiting as unknown as { ids: Set<unknown> }).ids;
    const already = new Set(
      seen
        .filter((e) => e.name === 'queue_item_status_changed' && e.data.status === 'completed')
        .map((e) => e.data.item_id),
    );
    for (const id of item_ids) {
      if (!already.has(id)) {
        ids.add(id);
      }
    }
    if (ids.size === 0) {
      waiting?.resolve();
    }
    await done;
    waiting = null;
    return item_ids;
  };
  // Requests go straight to app.request here: there is no socket to read a client address from.
  deps.clientAddress = () => 'bench';
  const app = createApp(deps);
  const call = async (method: string, path: string, token?: string, json?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/json' },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    if (res.status >= 300) {
      throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    }
    return res.json();
  };
  const closers: (() => Promise<void>)[] = [];
  try {
    const sweeper = await startWorkers(deps, pool, runtimes, env.LEASE_SECONDS);
    closers.push(() => sweeper.close());
    const { token } = await call('POST', '/api/v1/auth/login', undefined, ADMIN);
    const graph = (seed: number) =>
      textToImageGraph({ model: c.model, width: c.size, height: c.size, steps: c.steps, seed });
    // Warm-up: the child has the model loaded and every code path ran once.
    await completed(
      call('POST', '/api/v1/queue/default/enqueue_batch', token, { batch: { graph: graph(0), runs: 1 } }),
    );
    seen.length = 0;

    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const item_ids = await completed(
      call('POST', '/api/v1/queue/default/enqueue_batch', token, {
        batch: { graph: graph(1), runs: c.items },
      }),
    );
    loop.disable();
    const rows = (await call('POST', '/api/v1/queue/default/items_by_ids', token, { item_ids })) as {
      started_at: string;
      completed_at: string;
    }[];
    const start = Math.min(...rows.map((r) => Date.parse(r.started_at)));
    const end = Math.max(...rows.map((r) => Date.parse(r.completed_at)));
    const wallMs = end - start;
    return {
      easelMs: wallMs / c.items,
      loopP99: loop.percentile(99) / 1e6,
      loopMax: loop.max / 1e6,
      progressPerS: seen.filter((e) => e.name === 'invocation_progress').length / (wallMs / 1000),
      itemsPerMin: (c.items / wallMs) * 60_000,
      rssMb: process.memoryUsage().rss / 2 ** 20,
      childRssMb: await childRss(runtime.pid),
    };
  } finally {
    for (const close of closers) {
      await close();
    }
    if (pool) {
      await pool.close();
    }
    await runtime.close();
    deps.channels.close();
    await database.close();
    await pg?.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function report(rows: Row[], header: string): string {
  const f = (n: number, d = 1) => n.toFixed(d);
  const lines = [
    '| Case | Easel ms/item | Bare ONNX ms/item | Easel ÷ bare | Event-loop delay p99 / max (ms) | Progress events/s | Items/min | RSS server / child (MB) |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${f(r.easelMs)} | ${f(r.bareMs)} | ${f(r.easelMs / r.bareMs, 2)}× | ${f(r.loopP99)} / ${f(r.loopMax)} | ${f(r.progressPerS)} | ${f(r.itemsPerMin, 0)} | ${f(r.rssMb, 0)} / ${f(r.childRssMb, 0)} |`,
    ),
  ];
  return `${header}\n\n${lines.join('\n')}\n`;
}

async function main() {
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const modelsDir = await mkdtemp(join(tmpdir(), 'easel-bench-models-'));
  try {
    await writeTinyModel({ out: join(modelsDir, 'tiny-sd'), profile: 'tiny', layout: 'optimum' });
    await writeTinyModel({ out: join(modelsDir, 'tiny-sd-large'), profile: 'large', layout: 'optimum' });
    const rows: Row[] = [];
    for (const c of CASES) {
      const bareMs = await bare(join(modelsDir, c.model), c);
      const e = await easel(modelsDir, c);
      const row = { label: c.label, bareMs, ...e };
      rows.push(row);
      console.error(`${c.label}: easel ${row.easelMs.toFixed(1)} ms/item, bare ${bareMs.toFixed(1)} ms/item`);
    }
    const header = [
      '# Runtime benchmark',
      '',
      `- Date: ${new Date().toISOString()}; command: \`npm run bench:runtime\``,
      `- Machine: nproc ${availableParallelism()} (${cpus()[0]?.model ?? 'unknown CPU'}); load average at start ${load}; Node ${process.version}`,
      `- Database: ${PG_URL ? 'PostgreSQL (BENCH_PG_URL)' : 'PGlite (the default of npm start)'}`,
      "- Easel: scheduler + inference child process + PNG/thumbnail + database + events, N items in one batch; the next item's inference overlaps the previous item's save; bare: the same pipeline calls in-process, N runs in a row. Both with onnxruntime's default thread count, CPU provider, euler, CFG 7.5, PROGRESS_MAX_HZ 10.",
    ].join('\n');
    const table = report(rows, header);
    console.log(table);
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    await writeFile(
      new URL(`./results/${PG_URL ? 'runtime-postgres' : 'runtime'}.md`, import.meta.url),
      table,
    );
  } finally {
    await rm(modelsDir, { recursive: true, force: true });
  }
}

await main();
