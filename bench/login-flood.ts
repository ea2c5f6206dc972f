/**
 * `npm run bench:login-flood`: what a flood of failed logins does to the rest of the server (issue 13, item
 * 7). Starts the real server (the Node entry in a child process: free port, temp DATA_DIR, an admin from
 * ADMIN_EMAIL), logs the admin in once and uploads a 512×512 PNG, then measures the latency of `/health`,
 * `GET /api/v1/auth/me` and the image's file (`/full`) one request at a time, round robin, in three phases:
 *
 * 1. **rest**: nothing else runs;
 * 2. **flood, one address**: 40 connections POST logins with fresh random emails and a wrong password as fast
 *    as they are answered, all from 127.0.0.1 (bench/login-flood-client.ts, a process of its own);
 * 3. **flood, many addresses**: the same, each request from a random loopback address (127.64.0.0/10), so
 *    the per-address limit never holds and only the bound on password hashing protects the server.
 *
 * Easel reads the client address from the socket only (it trusts no `X-Forwarded-For`), so binding each
 * connection to its own loopback address is how one machine floods from many addresses.
 *
 * Options: `--seconds=N` per phase (12), `--db=pglite|postgres` (both by default; PostgreSQL at
 * `BENCH_PG_URL` / `EASEL_TEST_PG_URL`, a database of its own, dropped at the end), `--before=<dir>`: also
 * run a checkout at `<dir>` (with a `node_modules`, e.g. a symlink to this one's) the same way, for a
 * before/after table. Writes bench/results/login-flood.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { childEnv, freePort, projectRoot, startServer } from '../tests/node/spawn.ts';
import { scratchDatabase } from './scratch-database.ts';

const argv = process.argv.slice(2);
const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const SECONDS = Number(arg('seconds') ?? 12);
const BEFORE = arg('before');
const DRIVERS = (arg('db') ? [arg('db')] : ['pglite', 'postgres']) as ('pglite' | 'postgres')[];
const CONNECTIONS = 40;
const ADMIN = { email: 'admin@bench.example', password: 'correct horse battery' };
const PHASES = ['rest', 'flood, one address', 'flood, many addresses'] as const;
type Phase = (typeof PHASES)[number];

interface Probe {
  label: string;
  path: string;
  auth: boolean;
}

interface Row {
  phase: Phase;
  label: string;
  n: number;
  p50: number;
  p95: number;
  max: number;
  failed: number;
}

interface Flood {
  total: number;
  statuses: Record<string, number>;
  errors: number;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** A process's CPU time so far (user + system), in seconds. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime is field 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);

/** Requests each probe in turn, one at a time, until `until`; 10 ms between rounds. */
async function probeLoop(url: string, token: string, probes: Probe[], until: number) {
  const samples = new Map(probes.map((p) => [p.label, { ms: [] as number[], failed: 0 }]));
  while (Date.now() < until) {
    for (const probe of probes) {
      const started = performance.now();
      const res = await fetch(url + probe.path, {
        headers: probe.auth ? { Authorization: `Bearer ${token}` } : {},
      });
      await res.arrayBuffer();
      const s = samples.get(probe.label);
      s?.ms.push(performance.now() - started);
      if (s && res.status !== 200) {
        s.failed++;
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return samples;
}

/** The flood client in its own process; resolves with its counts when it ends. */
async function flood(url: string, from: 'one' | 'many', seconds: number): Promise<Flood> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(projectRoot, 'bench/login-flood-client.ts'),
      url,
      String(CONNECTIONS),
      String(seconds),
      `--from=${from}`,
    ],
    { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  await once(child, 'close');
  return JSON.parse(out) as Flood;
}

async function api<T>(url: string, path: string, init: RequestInit): Promise<T> {
  const res = await fetch(url + path, init);
  if (res.status >= 300) {
    throw new Error(`${path}: ${res.status} ${await res.text()}`);
  }
  return (await res.json()) as T;
}

/** One server (the checkout at `root`) on one database through the three phases. */
async function run(root: string, driver: 'pglite' | 'postgres') {
  const dataDir = await mkdtemp(join(tmpdir(), 'easel-bench-flood-'));
  const scratch = driver === 'postgres' ? await scratchDatabase() : undefined;
  const databaseUrl = scratch?.url;
  const env = childEnv({
    PORT: String(await freePort()),
    DATA_DIR: dataDir,
    MODELS_DIR: join(dataDir, 'no-models'),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123',
    LOG_LEVEL: 'error',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const server = await startServer(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/main.node.ts')],
    env,
  );
  const rows: Row[] = [];
  const floods: Partial<Record<Phase, Flood>> = {};
  const cpu: Partial<Record<Phase, number>> = {};
  try {
    const { token } = await api<{ token: string }>(server.url, '/api/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    const png = await sharp({ create: { width: 512, height: 512, channels: 3, background: '#3a6' } })
      .png()
      .toBuffer();
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'bench.png');
    const image = await api<{ image_name: string }>(server.url, '/api/v1/images/upload', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: form,
    });
    const probes: Probe[] = [
      { label: '/health', path: '/health', auth: false },
      { label: 'GET /auth/me', path: '/api/v1/auth/me', auth: true },
      { label: 'image file', path: `/api/v1/images/i/${image.image_name}/full`, auth: true },
    ];
    await probeLoop(server.url, token, probes, Date.now() + 1000); // warm-up
    for (const phase of PHASES) {
      // The flood runs a second longer on each side than the probes it is measured against.
      const from = phase === 'flood, one address' ? 'one' : 'many';
      const flooding = phase === 'rest' ? undefined : flood(server.url, from, SECONDS + 3);
      if (flooding) {
        await new Promise((r) => setTimeout(r, 2000));
      }
      const cpuBefore = await cpuSeconds(server.child.pid as number);
      const samples = await probeLoop(server.url, token, probes, Date.now() + SECONDS * 1000);
      cpu[phase] = (await cpuSeconds(server.child.pid as number)) - cpuBefore;
      if (flooding) {
        floods[phase] = await flooding;
        // Let the hashing the flood left queued finish before the next phase.
        await new Promise((r) => setTimeout(r, 3000));
      }
      for (const [label, s] of samples) {
        const sorted = s.ms.sort((a, b) => a - b);
        rows.push({
          phase,
          label,
          n: sorted.length,
          p50: quantile(sorted, 0.5),
          p95: quantile(sorted, 0.95),
          max: sorted.at(-1) ?? Number.NaN,
          failed: s.failed,
        });
      }
      console.error(`${root === projectRoot ? 'after' : 'before'} ${driver} ${phase}: done`);
    }
  } finally {
    await server.stop();
    await scratch?.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return { rows, floods, cpu };
}

const ms = (x: number) =>
  Number.isNaN(x) ? '–' : x < 10 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US');
const statusLine = (f?: Flood, cpu?: number) =>
  f
    ? `${Math.round(f.total / (SECONDS + 3))}/s, server CPU ${Math.round(((cpu ?? 0) / SECONDS) * 100)} %: ${Object.entries(
        f.statuses,
      )
        .map(([s, n]) => `${n.toLocaleString('en-US')}× ${s}`)
        .join(', ')}${f.errors ? `, ${f.errors} errors` : ''}`
    : '';

const loadBefore = (await readFile('/proc/loadavg', 'utf8')).trim();
const sections: string[] = [];
for (const driver of DRIVERS) {
  const after = await run(projectRoot, driver);
  const before = BEFORE ? await run(resolve(BEFORE), driver) : undefined;
  const lines = [
    `### ${driver === 'pglite' ? 'PGlite' : 'PostgreSQL'}`,
    '',
    before
      ? '| phase | route | before p50 / p95 / max ms | after p50 / p95 / max ms | samples before / after (non-200) |'
      : '| phase | route | p50 / p95 / max ms | samples (non-200) |',
    before ? '|---|---|---:|---:|---:|' : '|---|---|---:|---:|',
  ];
  for (const [i, r] of after.rows.entries()) {
    const b = before?.rows[i];
    const cell = (x: Row) => `${ms(x.p50)} / ${ms(x.p95)} / ${ms(x.max)}`;
    const n = (x: Row) => `${x.n} (${x.failed})`;
    lines.push(
      `| ${r.phase} | ${r.label} | ${b ? `${cell(b)} | ` : ''}${cell(r)} | ${b ? `${n(b)} / ` : ''}${n(r)} |`,
    );
  }
  lines.push(
    '',
    "Logins of the flood (per second; the server process's CPU, all threads, over the probes; statuses):",
    '',
  );
  for (const phase of PHASES.slice(1)) {
    const b = before ? `before ${statusLine(before.floods[phase], before.cpu[phase])}; after ` : '';
    lines.push(`- ${phase}: ${b}${statusLine(after.floods[phase], after.cpu[phase])}`);
  }
  sections.push(lines.join('\n'));
}
const loadAfter = (await readFile('/proc/loadavg', 'utf8')).trim();
const header = [
  '# bench:login-flood',
  '',
  `${new Date().toISOString()} · \`nproc\` ${cpus().length} · ${cpus()[0]?.model ?? '?'} · Node ${process.version}`,
  `· ${CONNECTIONS} flood connections · ${SECONDS} s of probes per phase (one request at a time, round robin)`,
  `· /proc/loadavg before: \`${loadBefore}\`, after: \`${loadAfter}\``,
  BEFORE ? `· before: the checkout at \`${BEFORE}\`; after: this one` : '',
  '',
].join('\n');
const report = `${header}\n${sections.join('\n\n')}\n`;
console.log(report);
await writeFile(join(projectRoot, 'bench/results/login-flood.md'), report);
