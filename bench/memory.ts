/**
 * `npm run bench:memory`: the server's resident memory on each database (issue 15): the real Node entry
 * (`src/main.node.ts`, as `npm start` runs it) on a new `DATA_DIR`, then 100 items of the tiny model
 * (64×64, 4 steps) enqueued by one user and run to the end, then a restart on the same folder. Resident set
 * (`VmRSS`) and its peak (`VmHWM`) of the server process and of its inference child, from `/proc`.
 * `BENCH_ROOT` runs another checkout's server (the "before" of a change); the table goes to
 * bench/results/memory.md (`BENCH_OUT` to name another file).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { textToImageGraph } from '../tests/helpers/graphs.ts';
import { api, ok, Q, Scratch } from '../tests/node/process-api.ts';
import { childEnv, freePort, projectRoot, type RunningServer, startServer } from '../tests/node/spawn.ts';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100);
const ROOT = process.env.BENCH_ROOT ?? projectRoot;
const OUT = process.env.BENCH_OUT ?? join(projectRoot, 'bench/results/memory.md');
const ADMIN = { email: 'admin@example.com', password: 'correct horse battery' };
const SECRET = 'memory-bench-secret-0123456789abcdef0123456789';

interface Sample {
  server: { rss: number; hwm: number };
  child: number;
}

/** MiB of `VmRSS`/`VmHWM` of a process (0 if it is gone). */
async function memoryOf(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: Math.round(kib('VmRSS') / 1024), hwm: Math.round(kib('VmHWM') / 1024) };
}

/** The server's and its children's (the inference process) resident memory. */
async function sample(server: RunningServer): Promise<Sample> {
  const pid = server.child.pid as number;
  const tasks = await readdir(`/proc/${pid}/task`);
  const children = (
    await Promise.all(tasks.map((t) => readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '')))
  )
    .join(' ')
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  const childRss = (await Promise.all(children.map(memoryOf))).reduce((sum, m) => sum + m.rss, 0);
  return { server: await memoryOf(pid), child: childRss };
}

async function run(database: 'PGlite' | 'PostgreSQL') {
  const scratch = await Scratch.create(SECRET, 'm');
  const start = async () =>
    startServer(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src/main.node.ts')],
      childEnv({
        HOST: '127.0.0.1',
        PORT: String(await freePort()),
        DATA_DIR: scratch.root,
        MODELS_DIR: join(ROOT, 'models'),
        JWT_SECRET: SECRET,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        LOG_LEVEL: 'warn',
        ...(database === 'PostgreSQL' ? { DATABASE_URL: scratch.url } : {}),
      }),
      180_000,
    );
  try {
    let server = await start();
    const started = await sample(server);
    const { token } = await ok<{ token: string }>(
      api(server, 'POST', '/api/v1/auth/login', undefined, ADMIN),
    );
    const t0 = performance.now();
    await ok(
      api(server, 'POST', `${Q}/enqueue_batch`, token, {
        batch: { graph: textToImageGraph({ width: 64, height: 64, steps: 4, seed: 1 }), runs: ITEMS },
      }),
      201,
    );
    let peakDuring = started.server.rss;
    for (;;) {
      const status = await ok<{ queue: { completed: number; failed: number } }>(
        api(server, 'GET', `${Q}/status`, token),
      );
      peakDuring = Math.max(peakDuring, (await sample(server)).server.rss);
      if (status.queue.completed + status.queue.failed === ITEMS) {
        if (status.queue.failed > 0) {
          throw new Error(`${status.queue.failed} items failed`);
        }
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = await sample(server);
    await server.stop();
    server = await start();
    const restarted = await sample(server);
    await server.stop();
    return { database, started, after, restarted, seconds };
  } finally {
    await scratch.drop();
  }
}

const rows = [];
for (const database of ['PGlite', 'PostgreSQL'] as const) {
  const r = await run(database);
  console.log(`${database}: ${JSON.stringify(r)}`);
  rows.push(
    `| ${database} | ${r.started.server.rss} | ${r.after.server.rss} | ${r.after.server.hwm} | ${r.restarted.server.rss} | ${r.after.child} | ${(ITEMS / r.seconds).toFixed(1)} |`,
  );
}
const table = `| Database | server RSS after the first start (MiB) | after ${ITEMS} items | peak (VmHWM) | after a restart | inference child RSS | items/s |
|---|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}`;
const header = `# bench:memory

${new Date().toISOString()} · \`nproc\` ${cpus().length} · ${cpus()[0]?.model.trim()} · Node ${process.version}
· server: ${ROOT === projectRoot ? 'this checkout' : ROOT} · /proc/loadavg at the end: ${loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')}
· the Node entry on a new \`DATA_DIR\`; ${ITEMS} items of the tiny model (64×64, 4 steps) from one user, run
to the end; then a restart on the same folder. \`VmRSS\`/\`VmHWM\` from \`/proc\`.
`;
console.log(table);
await writeFile(OUT, `${header}\n${table}\n`);
