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
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeTinyModel } from '../scripts/tiny-model/write.ts';
import { createApp } from '../src/app.ts';
import { startWorkers } from '../src/boot.ts';
import type { ServerEvent } from '../src/core/events.ts';
import { createJsonLogger, type Logger } from '../src/core/logger.ts';
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
/** `--only=<text>` runs the cases whose label contains it. */
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
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
  /** Medians over the items: Easel's steps (from each `item completed` log line) and the bare loop's. */
  easelPhases: Phases;
  barePhases: Phases;
  /** CPU time per item (ms): Easel's by process, and the bare loop's. */
  easelCpu: CpuSplit;
  bareCpuMs: number;
}

/** CPU ms per item by process: this one (HTTP, scheduler, sharp, PGlite), the inference child, PostgreSQL. */
interface CpuSplit {
  server: number;
  child: number;
  postgres: number;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICK_MS = 10;

/** A process's user + system CPU time in ms, from /proc (0 when it is gone). */
async function procCpuMs(pid: number | string): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The fields after the command name (which may hold spaces) start at the state, field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * TICK_MS;
}

/** The CPU time of every PostgreSQL process on this machine (backends, WAL writer, checkpointer), in ms. */
async function postgresCpuMs(): Promise<number> {
  let total = 0;
  for (const pid of await readdir('/proc')) {
    if (
      /^\d+$/.test(pid) &&
      (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim() === 'postgres'
    ) {
      total += await procCpuMs(pid);
    }
  }
  return total;
}

const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

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
async function bare(folder: string, c: Case): Promise<{ ms: number; cpuMs: number; phases: Phases }> {
  const model = await loadDiffusionModel(folder, { executionProvider: 'cpu', warn: () => {}, threads: 0 });
  let phases: Phases = {};
  const all: Phases[] = [];
  const once = async (seed: number) => {
    phases = {};
    let t = performance.now();
    const lap = (phase: string) => {
      const now = performance.now();
      phases[phase] = (phases[phase] ?? 0) + now - t;
      t = now;
    };
    const positive = await encodePrompt(model, 'a lighthouse at dusk');
    const negative = await encodePrompt(model, '');
    lap('compel');
    const noise = makeNoise(seed, c.size, c.size, model.manifest);
    lap('noise');
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
    lap('denoise_latents');
    await decodeLatents(model, latents);
    lap('l2i');
  };
  await once(0); // warm-up
  const times: number[] = [];
  const cpuBefore = ownCpuMs();
  for (let i = 0; i < c.items; i++) {
    const t = performance.now();
    await once(i + 1);
    times.push(performance.now() - t);
    all.push(phases);
  }
  const cpuMs = (ownCpuMs() - cpuBefore) / c.items;
  await model.release();
  return { ms: mean(times), cpuMs, phases: medianPhases(all) };
}

/** Milliseconds by step of one item: `compel` (both prompts), `noise`, `denoise_latents`, `l2i`, …. */
type Phases = Record<string, number>;

/** Each step's median over the items. */
function medianPhases(items: Phases[]): Phases {
  const keys = [...new Set(items.flatMap((p) => Object.keys(p)))];
  return Object.fromEntries(
    keys.map((k) => {
      const xs = items.map((p) => p[k] ?? 0).sort((a, b) => a - b);
      return [k, xs[Math.floor(xs.length / 2)] ?? 0];
    }),
  );
}

async function easel(
  modelsDir: string,
  c: Case,
): Promise<Omit<Row, 'label' | 'bareMs' | 'barePhases' | 'bareCpuMs'>> {
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
  const json = createJsonLogger({ level: 'warn' });
  // Warnings as the server logs them; each item's `timings_ms` kept for the breakdown.
  const timings: Phases[] = [];
  const logger: Logger = {
    ...json,
    info: (msg, fields) => {
      if (msg === 'item completed' && fields?.timings_ms) {
        timings.push(fields.timings_ms as Phases);
      }
    },
  };
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
    timings.length = 0;

    const loop = monitorEventLoopDelay({ resolution: 1 });
    const cpuAt = async () => ({
      server: ownCpuMs(),
      child: runtime.pid ? await procCpuMs(runtime.pid) : 0,
      postgres: pg ? await postgresCpuMs() : 0,
    });
    const cpuBefore = await cpuAt();
    loop.enable();
    const item_ids = await completed(
      call('POST', '/api/v1/queue/default/enqueue_batch', token, {
        batch: { graph: graph(1), runs: c.items },
      }),
    );
    loop.disable();
    const cpuAfter = await cpuAt();
    const perItem = (k: keyof CpuSplit) => (cpuAfter[k] - cpuBefore[k]) / c.items;
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
      easelPhases: medianPhases(timings),
      easelCpu: { server: perItem('server'), child: perItem('child'), postgres: perItem('postgres') },
    };
  } finally {
    for (const close of closers) {
      await close();
    }
    if (pool) {
      await pool.close();
    }
    await runtime.close();
    // As the server stops (src/node/server.ts): the listeners end before the database closes.
    await deps.revocations?.stop();
    await deps.channels.shutdown();
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
  const steps = [
    'claim',
    'main_model_loader',
    'compel',
    'noise',
    'denoise_latents',
    'l2i',
    'save',
    'lease',
    'encode',
    'files',
    'row',
    'finish',
  ];
  const cell = (p: Phases, k: string) => (p[k] === undefined ? '–' : f(p[k] as number));
  const breakdown = [
    `| Case | ${steps.join(' | ')} |`,
    `|---|${steps.map(() => '---:').join('|')}|`,
    ...rows.flatMap((r) => [
      `| ${r.label}: Easel | ${steps.map((k) => cell(r.easelPhases, k)).join(' | ')} |`,
      `| ${r.label}: bare | ${steps.map((k) => cell(r.barePhases, k)).join(' | ')} |`,
    ]),
  ];
  const cpu = [
    '| Case | server | inference child | PostgreSQL | Easel in all | bare | Easel − bare |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const all = r.easelCpu.server + r.easelCpu.child + r.easelCpu.postgres;
      return `| ${r.label} | ${f(r.easelCpu.server)} | ${f(r.easelCpu.child)} | ${f(r.easelCpu.postgres)} | ${f(all)} | ${f(r.bareCpuMs)} | ${f(all - r.bareCpuMs)} |`;
    }),
  ];
  return `${header}\n\n${lines.join('\n')}\n\n${BREAKDOWN_NOTE}\n\n${breakdown.join('\n')}\n\n${CPU_NOTE}\n\n${cpu.join('\n')}\n`;
}

const CPU_NOTE = `CPU time per item (ms, all threads, from \`process.cpuUsage\` and /proc): \`server\` is this process (HTTP,
scheduler, events, sharp's encodes and, on PGlite, the database), \`inference child\` the ONNX process (with the
progress previews), \`PostgreSQL\` every postgres process on the machine. On 2 cores an item cannot take less
wall time than half its CPU time, so \`Easel − bare\` is the work the bare loop does not do.`;

const BREAKDOWN_NOTE = `Where one item's time goes (ms, median over the items). Easel: from the worker's \`item completed\` log
line (\`timings_ms\`): \`claim\` (its transaction, with the events carried into it), each runtime node (the
inference process's work plus the round trip to it; \`compel\` is both prompts, \`l2i\` the VAE decode and the
decoded pixels' transfer), \`save\` (the whole save, of which: \`lease\`, its renewal; \`encode\`, the PNG and the
thumbnail side by side; \`files\`, both written; \`row\`, the image row's transaction) and \`finish\` (the outcome's
transaction). Steps overlap across items: the next item's inference runs during this one's save and finish.
Bare: the same calls in this process, nothing else.`;

async function main() {
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const modelsDir = await mkdtemp(join(tmpdir(), 'easel-bench-models-'));
  try {
    await writeTinyModel({ out: join(modelsDir, 'tiny-sd'), profile: 'tiny', layout: 'optimum' });
    await writeTinyModel({ out: join(modelsDir, 'tiny-sd-large'), profile: 'large', layout: 'optimum' });
    const rows: Row[] = [];
    for (const c of CASES.filter((c) => ONLY === undefined || c.label.includes(ONLY))) {
      const b = await bare(join(modelsDir, c.model), c);
      const e = await easel(modelsDir, c);
      const bareMs = b.ms;
      const row = { label: c.label, bareMs, bareCpuMs: b.cpuMs, barePhases: b.phases, ...e };
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
    if (ONLY !== undefined) {
      return; // A part of the table: printed, not kept.
    }
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
