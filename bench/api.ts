/**
 * `npm run bench:api`: the HTTP API's hot routes under load, against the real server (the Node entry in a
 * child process: free port, temp DATA_DIR), on PGlite and on PostgreSQL, with autocannon in a process of its
 * own. Writes the table to bench/results/api.md.
 *
 * State (what a small installation holds): 4 users, 2,000 pending items (500 each) in a paused queue (so no
 * worker runs during the load), 200 images (50 each), inserted with SQL between a first start (migrations,
 * admin, one real enqueued item to copy) and the measured one. Every route is loaded as one non-admin user,
 * 50 connections, a warm-up then the measured run; `/health` (no auth, no database) is the limit of the
 * same run. Server CPU per request: the server process's user + system time (from /proc/<pid>/stat) over the
 * measured run, divided by its requests; PostgreSQL's own backends are not in it.
 *
 * Options: `--quick` (1 s warm-up, 2 s per route), `--db=pglite` or `--db=postgres` (both by default),
 * `--only=<label substring>`, `--runtime=node` (default), `deno` (`deno run -A src/main.deno.ts`, as
 * `deno task start` runs it) or `both` (Node and Deno in the same run, per database; written to
 * bench/results/api-node-deno.md). PostgreSQL: `BENCH_PG_URL` or `EASEL_TEST_PG_URL` (default
 * postgres://postgres@127.0.0.1:5432/test); the run creates and drops a database of its own.
 * `--cpu-prof=<dir>`: the measured Node server runs with `--cpu-prof`, its profile written to `<dir>/<db>/`
 * when it stops (read it with `npx tsx bench/cpu-profile.ts <file>`; use `--only` to profile one route).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { openPglite } from '../src/db/pglite.ts';
import { rowsOf } from '../src/db/rows.ts';
import type { Database } from '../src/db/types.ts';
import { openPostgres } from '../src/node/postgres-client.ts';
import { textToImageGraph } from '../tests/helpers/graphs.ts';
import { childEnv, freePort, projectRoot } from '../tests/node/spawn.ts';
import { scratchDatabase } from './scratch-database.ts';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const DB_ARG = argv.find((a) => a.startsWith('--db='))?.slice(5);
const ONLY = argv.find((a) => a.startsWith('--only='))?.slice(7);
const RUNTIME_ARG = argv.find((a) => a.startsWith('--runtime='))?.slice(10) ?? 'node';
const CPU_PROF_DIR = argv.find((a) => a.startsWith('--cpu-prof='))?.slice(11);
const RUNTIMES = {
  node: { name: 'Node', command: process.execPath, args: ['--import', 'tsx', 'src/main.node.ts'] },
  deno: {
    name: 'Deno',
    command: join(projectRoot, 'node_modules', '.bin', 'deno'),
    args: ['run', '-A', 'src/main.deno.ts'],
  },
} as const;
type Runtime = keyof typeof RUNTIMES;
if (!['node', 'deno', 'both'].includes(RUNTIME_ARG)) {
  throw new Error(`--runtime=${RUNTIME_ARG}: node, deno or both`);
}
const runtimes = (RUNTIME_ARG === 'both' ? ['node', 'deno'] : [RUNTIME_ARG]) as Runtime[];
const WARMUP_S = QUICK ? 1 : 3;
const DURATION_S = QUICK ? 2 : 10;
const CONNECTIONS = 50;
const ADMIN = { email: 'admin@bench.example', password: 'correct horse battery' };
const USERS = ['alice', 'bob', 'carol'].map((n) => `${n}@bench.example`);
const ITEMS_PER_USER = 500;
const IMAGES_PER_USER = 50;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const AUTOCANNON = join(projectRoot, 'node_modules/.bin/autocannon');

interface Server {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the runtime's entry and resolves on its `listening on` line; its output is dropped after that. */
async function startServer(runtime: Runtime, env: NodeJS.ProcessEnv, profileDir?: string): Promise<Server> {
  const profile = profileDir && runtime === 'node' ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(RUNTIMES[runtime].command, [...profile, ...RUNTIMES[runtime].args], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let head = '';
  let errTail = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    errTail = (errTail + s).slice(-4000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (s: string) => {
      head += s;
      const match = /^listening on (http:\/\/\S+)$/m.exec(head);
      if (match?.[1]) {
        head = '';
        child.stdout?.off('data', onData).on('data', () => {});
        resolve(match[1]);
      }
    };
    child.stdout?.setEncoding('utf8').on('data', onData);
    child.once('close', (code) => reject(new Error(`server exited with ${code}\n${head}\n${errTail}`)));
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const closed = once(child, 'close');
        child.kill('SIGTERM');
        const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await closed;
        clearTimeout(guard);
      }
    },
  };
}

async function call<T>(
  url: string,
  method: string,
  path: string,
  opts: { token?: string; json?: unknown } = {},
): Promise<T> {
  const res = await fetch(url + path, {
    method,
    headers: {
      ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.json === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
  });
  if (res.status >= 300) {
    throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  }
  return (res.status === 204 ? undefined : await res.json()) as T;
}

const login = async (url: string, email: string) =>
  (
    await call<{ token: string }>(url, 'POST', '/api/v1/auth/login', {
      json: { email, password: ADMIN.password },
    })
  ).token;

/** 4 users, 2,000 pending items copied from `templateItem`, 200 images, the queue paused. */
async function seed(db: Database['db'], templateItem: number) {
  const [admin] = rowsOf<{ user_id: string; password_hash: string }>(
    await db.execute(sql`SELECT user_id, password_hash FROM users WHERE email = ${ADMIN.email}`),
  );
  if (!admin) {
    throw new Error('no admin row');
  }
  const ids = [admin.user_id];
  for (const email of USERS) {
    const id = crypto.randomUUID();
    ids.push(id);
    await db.execute(sql`INSERT INTO users (user_id, email, display_name, password_hash)
      VALUES (${id}, ${email}, ${email.split('@')[0]}, ${admin.password_hash})`);
  }
  await db.execute(sql`INSERT INTO queue_state (queue_id, paused, updated_at) VALUES ('default', true, now())
    ON CONFLICT (queue_id) DO UPDATE SET paused = true`);
  const columns = rowsOf<{ column_name: string }>(
    await db.execute(sql`SELECT column_name FROM information_schema.columns
      WHERE table_name = 'session_queue' AND column_name NOT IN
        ('item_id', 'user_id', 'session_id', 'batch_id', 'created_at', 'updated_at')`),
  ).map((r) => `"${r.column_name}"`);
  const list = sql.raw(columns.join(', '));
  for (const id of ids) {
    await db.execute(sql`INSERT INTO session_queue (${list}, user_id, session_id, batch_id, created_at, updated_at)
      SELECT ${list}, ${id}, gen_random_uuid()::text, 'b-' || (g / 50), now() - g * interval '1 s',
        now() - g * interval '1 s'
      FROM session_queue, generate_series(1, ${ITEMS_PER_USER}) g WHERE item_id = ${templateItem}`);
    await db.execute(sql`INSERT INTO images (image_name, user_id, width, height, created_at)
      SELECT gen_random_uuid()::text || '.png', ${id}, 512, 512, now() - g * interval '1 min'
      FROM generate_series(1, ${IMAGES_PER_USER}) g`);
  }
  await db.execute(sql`DELETE FROM session_queue WHERE item_id = ${templateItem}`);
  await db.execute(sql`ANALYZE`);
}

interface Route {
  label: string;
  method: 'GET' | 'POST';
  path: string;
  auth: boolean;
  body?: unknown;
}

interface Result {
  label: string;
  bytes: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  cpuUsPerReq: number;
}

async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

interface Cannon {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  '2xx': number;
}

/** One autocannon run in its own process. */
async function cannon(url: string, route: Route, token: string, seconds: number): Promise<Cannon> {
  const args = ['-c', String(CONNECTIONS), '-d', String(seconds), '-j', '-m', route.method];
  if (route.auth) {
    args.push('-H', `Authorization=Bearer ${token}`);
  }
  if (route.body !== undefined) {
    args.push('-H', 'Content-Type=application/json', '-b', JSON.stringify(route.body));
  }
  args.push(url + route.path);
  const child = spawn(AUTOCANNON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  const [code] = await once(child, 'close');
  if (code !== 0) {
    throw new Error(`autocannon exited with ${code}: ${err}`);
  }
  return JSON.parse(out) as Cannon;
}

async function runDriver(driver: 'pglite' | 'postgres', runtime: Runtime): Promise<Result[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'easel-bench-api-'));
  const scratch = driver === 'postgres' ? await scratchDatabase() : undefined;
  const databaseUrl = scratch?.url;
  const env = childEnv({
    PORT: String(await freePort()),
    DATA_DIR: dataDir,
    MODELS_DIR: join(projectRoot, 'models'),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123',
    USER_MAX_PENDING: '10000000',
    QUEUE_MAX_SIZE: '10000000',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const results: Result[] = [];
  let server: Server | undefined;
  try {
    // First start: migrations, the admin, one real item (paused first, so no worker takes it).
    server = await startServer(runtime, env);
    const adminToken = await login(server.url, ADMIN.email);
    await call(server.url, 'PUT', '/api/v1/queue/default/processor/pause', { token: adminToken });
    const batch = { batch: { graph: textToImageGraph(), runs: 1 } };
    const { item_ids } = await call<{ item_ids: number[] }>(
      server.url,
      'POST',
      '/api/v1/queue/default/enqueue_batch',
      { token: adminToken, json: batch },
    );
    await server.stop();
    const database =
      driver === 'postgres'
        ? openPostgres(databaseUrl as string, { max: 1 })
        : await openPglite(join(dataDir, 'db'));
    await seed(database.db, item_ids[0] as number);
    await database.close();

    server = await startServer(runtime, env, CPU_PROF_DIR && join(CPU_PROF_DIR, driver));
    const token = await login(server.url, USERS[0] as string);
    const mine = await call<{ items: { item_id: number }[] }>(
      server.url,
      'GET',
      '/api/v1/queue/default/list?limit=1&user=me',
      { token },
    );
    const item = mine.items[0]?.item_id;
    const routes: Route[] = [
      { label: '/health', method: 'GET', path: '/health', auth: false },
      { label: 'auth/me', method: 'GET', path: '/api/v1/auth/me', auth: true },
      { label: 'queue status', method: 'GET', path: '/api/v1/queue/default/status', auth: true },
      { label: 'list?limit=50', method: 'GET', path: '/api/v1/queue/default/list?limit=50', auth: true },
      {
        label: 'list_all?user=me',
        method: 'GET',
        path: '/api/v1/queue/default/list_all?user=me',
        auth: true,
      },
      { label: 'images?limit=50', method: 'GET', path: '/api/v1/images?limit=50', auth: true },
      { label: 'one item', method: 'GET', path: `/api/v1/queue/default/i/${item}`, auth: true },
      {
        label: 'enqueue_batch (1 item)',
        method: 'POST',
        path: '/api/v1/queue/default/enqueue_batch',
        auth: true,
        body: batch,
      },
    ].filter((r) => r.label === '/health' || !ONLY || r.label.includes(ONLY)) as Route[];
    const pid = server.child.pid as number;
    for (const route of routes) {
      // One request first: a route that fails is a broken bench, not a slow route.
      const probe = await fetch(server.url + route.path, {
        method: route.method,
        headers: {
          Authorization: `Bearer ${token}`,
          ...(route.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: route.body === undefined ? undefined : JSON.stringify(route.body),
      });
      const bytes = (await probe.arrayBuffer()).byteLength;
      if (probe.status >= 300) {
        throw new Error(`${route.label}: ${probe.status}`);
      }
      await cannon(server.url, route, token, WARMUP_S);
      const before = await cpuTicks(pid);
      const r = await cannon(server.url, route, token, DURATION_S);
      const ticks = (await cpuTicks(pid)) - before;
      const total = r.requests.total;
      results.push({
        label: route.label,
        bytes,
        rps: total / DURATION_S,
        p50: r.latency.p50,
        p99: r.latency.p99,
        non2xx: r.non2xx,
        errors: r.errors + r.timeouts,
        cpuUsPerReq: total ? ((ticks / CLK_TCK) * 1e6) / total : 0,
      });
      console.error(
        `${driver} ${route.label}: ${Math.round(total / DURATION_S)} req/s, p99 ${r.latency.p99} ms`,
      );
    }
  } finally {
    await server?.stop();
    await scratch?.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return results;
}

function table(driver: string, results: Result[]): string {
  const health = results.find((r) => r.label === '/health')?.rps ?? Number.NaN;
  const lines = [
    `### ${driver}`,
    '',
    '| route | req/s | p50 ms | p99 ms | × /health | server CPU µs/req | body bytes | non-2xx | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.label} | ${Math.round(r.rps).toLocaleString('en-US')} | ${r.p50} | ${r.p99} | ${(r.rps / health).toFixed(2)} | ${Math.round(r.cpuUsPerReq)} | ${r.bytes.toLocaleString('en-US')} | ${r.non2xx} | ${r.errors} |`,
    );
  }
  return lines.join('\n');
}

const drivers = (DB_ARG ? [DB_ARG] : ['pglite', 'postgres']) as ('pglite' | 'postgres')[];
const loadBefore = (await readFile('/proc/loadavg', 'utf8')).trim();
const sections: string[] = [];
for (const driver of drivers) {
  for (const runtime of runtimes) {
    const name = driver === 'pglite' ? 'PGlite' : 'PostgreSQL';
    const label = runtimes.length > 1 || runtime !== 'node' ? `${name} · ${RUNTIMES[runtime].name}` : name;
    sections.push(table(label, await runDriver(driver, runtime)));
  }
}
const loadAfter = (await readFile('/proc/loadavg', 'utf8')).trim();
const header = [
  '# bench:api',
  '',
  `${new Date().toISOString()} · \`nproc\` ${cpus().length} · ${cpus()[0]?.model ?? '?'} · Node ${process.version}`,
  `· ${CONNECTIONS} connections · warm-up ${WARMUP_S} s, ${DURATION_S} s per route${QUICK ? ' (--quick)' : ''}`,
  `· /proc/loadavg before: \`${loadBefore}\`, after: \`${loadAfter}\` (1-min load now ${loadavg()[0]?.toFixed(2)})`,
  '',
].join('\n');
const report = `${header}\n${sections.join('\n\n')}\n`;
console.log(report);
const file = { node: 'api.md', deno: 'api-deno.md', both: 'api-node-deno.md' }[RUNTIME_ARG] ?? 'api.md';
await writeFile(join(projectRoot, 'bench/results', file), report);
