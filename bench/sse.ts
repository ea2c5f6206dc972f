/**
 * Event-stream benchmark: Easel's GET /api/v1/events (Hono on @hono/node-server, the ChannelHub) against
 * Socket.IO (a room per user plus an admin room) and a bare node:http server writing the same SSE frames, at
 * 1,000, 5,000 and 10,000 connections on 127.0.0.1. This process conducts: each server kind runs in a child
 * of its own (bench/sse-server.ts), the connections in another (bench/sse-clients.ts), one kind at a time.
 * Run: `npm run bench:sse` (or `npx tsx bench/sse.ts`). Writes bench/results/sse.md. See bench/README.md.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  type ClientStats,
  type ConnectResult,
  clock,
  KIND_NAMES,
  KINDS,
  type Kind,
  type LevelResult,
  type Memory,
  makeCaller,
  type ServerConfig,
  type ServerReady,
  type SioClient,
} from './sse-protocol.ts';

// ---- knobs (environment) -------------------------------------------------------------------------------
const list = (name: string, fallback: string) =>
  (process.env[name] || fallback).split(',').map((s) => s.trim());
const int = (name: string, fallback: number) => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number.parseInt(v, 10);
};
const COUNTS = list('BENCH_SSE_CONNECTIONS', '1000,5000,10000').map(Number);
/** Connection counts at which Socket.IO is also read by socket.io-client (its own, heavier client). */
const LIBRARY_COUNTS = list('BENCH_SSE_SIO_LIBRARY', '10000').filter(Boolean).map(Number);
const KIND_LIST = list('BENCH_SSE_KINDS', KINDS.join(',')) as Kind[];
const USERS = int('BENCH_SSE_USERS', 500);
const ADMINS = int('BENCH_SSE_ADMINS', 5);
const ADMIN_TABS = 2;
const WARM_MS = int('BENCH_SSE_WARM_MS', 500);
const MEASURE_MS = int('BENCH_SSE_MEASURE_MS', 2000);
/** No level starts after this many seconds of the run, nor after STEP_LEVELS_S of one step's levels. */
const BUDGET_S = int('BENCH_SSE_BUDGET_S', 420);
const STEP_LEVELS_S = int('BENCH_SSE_STEP_LEVELS_S', 40);
/** A failed level is run once more when other work took this much CPU (% of a core) meanwhile. */
const NOISY_PCT = 25;
const P99_LIMIT_MS = 50;
/** Target deliveries/s, climbed until one fails, then bisected twice between the last pass and the fail. */
const LADDER = list('BENCH_SSE_LADDER', '20000,30000,45000,65000,90000,125000,175000,250000').map(Number);
/** Before the ladder, each server gets PRIME_MS of PRIME_RATE deliveries/s, not measured. */
const PRIME_RATE = 10_000;
const PRIME_MS = int('BENCH_SSE_PRIME_MS', 3000);
const COMMON_RATE = 20_000;
const BISECTIONS = 2;
/** Extra node flags for the server processes (diagnosis, e.g. `--trace-gc` or `--cpu-prof`). */
const SERVER_FLAGS = (process.env.BENCH_SSE_SERVER_FLAGS ?? '').split(' ').filter(Boolean);
const RESULTS = new URL('./results/sse.md', import.meta.url);

const log = (msg: string) => console.error(`[bench:sse] ${msg}`);
const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const fmtMs = (n: number) => (!Number.isFinite(n) ? '–' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const fmtKb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const pct = (cpuMs: number, wallMs: number) => `${fmtInt((cpuMs / wallMs) * 100)}%`;

// ---- one step: one server kind at one connection count -------------------------------------------------
interface Level {
  target: number;
  eventsPerSec: number;
  server: LevelResult;
  client: ClientStats;
  /** Delivered per second over the measured window. */
  rate: number;
  p50: number;
  p99: number;
  max: number;
  pass: boolean;
  why: string;
  /** CPU used meanwhile by everything else on the machine, % of one core. */
  othersPct: number;
  /** Server CPU (all its threads: the event loop and V8's GC helpers) per delivery, µs. */
  cpuUsPerDelivery: number;
}

interface Step {
  kind: Kind;
  n: number;
  sioClient: SioClient;
  /** Deliveries per published event. */
  meanFanout: number;
  setupMs: number;
  connect: ConnectResult;
  serverCount: number;
  memBefore: Memory;
  memAfter: Memory;
  clockCorrectionMs: number;
  levels: Level[];
  best: Level | undefined;
  cutShort: boolean;
}

/** The tabs of each user index: admins have ADMIN_TABS, the users share the rest round-robin. */
function planFor(n: number): { tabs: number[]; userOf: number[] } {
  const tabs = new Array<number>(ADMINS + USERS).fill(0);
  const userOf: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = i < ADMINS * ADMIN_TABS ? i % ADMINS : ADMINS + ((i - ADMINS * ADMIN_TABS) % USERS);
    userOf.push(u);
    tabs[u] = (tabs[u] ?? 0) + 1;
  }
  return { tabs, userOf };
}

function spawnChild(file: string, args: string[], execArgv: string[]): ChildProcess {
  return fork(new URL(file, import.meta.url).pathname, args, {
    execArgv: [...process.execArgv, ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function firstMessage<T>(child: ChildProcess, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child did not start in time')), timeoutMs);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as T);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before it was ready`));
    });
  });
}

/** Ends a child: politely, then SIGKILL after `graceMs`. */
async function stopChild(
  child: ChildProcess,
  call: ReturnType<typeof makeCaller> | undefined,
  graceMs = 5000,
) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  call?.({ type: 'exit' }, graceMs).catch(() => {});
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** This process's clock minus the child's, from the IPC round trip with the smallest delay. */
async function clockOffset(call: ReturnType<typeof makeCaller>): Promise<number> {
  let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
  for (let i = 0; i < 20; i++) {
    const a = clock();
    const t = await call<number>({ type: 'clock' });
    const b = clock();
    if (b - a < best.rtt) {
      best = { rtt: b - a, offset: (a + b) / 2 - t };
    }
  }
  return best.offset;
}

const children = new Set<ChildProcess>();

/** Busy and total CPU time of the whole machine so far (Linux /proc/stat), ms; undefined elsewhere. */
function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, ...fields] = line.trim().split(/\s+/);
    const v = fields.map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    // USER_HZ is 100 on Linux.
    return { busy: (total - idle) * 10, total: total * 10 };
  } catch {
    return undefined;
  }
}

async function step(kind: Kind, n: number, deadline: number, sioClient: SioClient = 'wire'): Promise<Step> {
  const { tabs, userOf } = planFor(n);
  const owners = tabs.slice(ADMINS);
  const adminTabs = tabs.slice(0, ADMINS).reduce((a, b) => a + b, 0);
  const meanFanout = owners.reduce((a, t) => a + t + adminTabs, 0) / owners.length;
  const config: ServerConfig = { users: USERS, admins: ADMINS };
  log(
    `${KIND_NAMES[kind]}${sioClient === 'library' ? ' (socket.io-client)' : ''}, ${fmtInt(n)} connections: starting the server`,
  );
  const server = spawnChild(
    './sse-server.ts',
    [kind, JSON.stringify(config)],
    ['--expose-gc', ...SERVER_FLAGS],
  );
  children.add(server);
  const callS = makeCaller(server);
  let client: ChildProcess | undefined;
  let callC: ReturnType<typeof makeCaller> | undefined;
  try {
    const ready = await firstMessage<ServerReady>(server, 120_000);
    await callS({ type: 'plan', tabs });
    const memBefore = await callS<Memory>({ type: 'memory' });
    client = spawnChild('./sse-clients.ts', [], ['--max-old-space-size=4096']);
    children.add(client);
    callC = makeCaller(client);
    await firstMessage(client, 60_000);
    log(
      `  connecting ${fmtInt(n)} (${ready.tokens.length} users, server set up in ${(ready.setupMs / 1000).toFixed(1)} s)`,
    );
    const connect = await callC<ConnectResult>(
      { type: 'connect', kind, port: ready.port, tokens: ready.tokens, userOf, sioClient },
      180_000,
    );
    log(
      `  ${fmtInt(connect.open)} open, ${connect.failed} failed in ${(connect.ms / 1000).toFixed(1)} s ${connect.errors.join('; ')}`,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const serverCount = await callS<number>({ type: 'count' });
    const memAfter = await callS<Memory>({ type: 'memory' });
    // Latency = client clock − server's sent_at; correct by (client − server) offset, both against ours.
    const clockCorrectionMs = (await clockOffset(callS)) - (await clockOffset(callC));
    const levels: Level[] = [];
    let cutShort = false;
    const caller = callC;
    const measure = async (target: number): Promise<Level> => {
      const eventsPerSec = target / meanFanout;
      await caller({ type: 'reset' });
      const m0 = machineCpu();
      const own0 = process.cpuUsage();
      const sr = await callS<LevelResult>(
        { type: 'level', level: { eventsPerSec, warmMs: WARM_MS, measureMs: MEASURE_MS } },
        WARM_MS + MEASURE_MS + 60_000,
      );
      const cr = await caller<ClientStats>(
        { type: 'collect', t0: sr.t0, t1: sr.t1, expected: sr.expected, waitMs: 3000 },
        30_000,
      );
      const m1 = machineCpu();
      const own = process.cpuUsage(own0);
      // CPU the machine spent on anything but this run's three processes (other work, and the kernel's
      // share of loopback traffic), as a share of one core: a noisy level shows here.
      const othersPct =
        m0 && m1
          ? ((m1.busy - m0.busy - sr.cpuMs - cr.cpuMs - (own.user + own.system) / 1000) / sr.wallMs) * 100
          : Number.NaN;
      const p50 = cr.p50 - clockCorrectionMs;
      const p99 = cr.p99 - clockCorrectionMs;
      const reasons: string[] = [];
      if (!(p99 < P99_LIMIT_MS)) {
        reasons.push(`p99 ${fmtMs(p99)} ms`);
      }
      if (cr.missing > 0) {
        reasons.push(`${fmtInt(cr.missing)} of ${fmtInt(sr.expected)} missing`);
      }
      if (cr.open < n) {
        reasons.push(`${fmtInt(n - cr.open)} connections lost`);
      }
      const level: Level = {
        target,
        eventsPerSec,
        server: sr,
        client: cr,
        rate: cr.received / (MEASURE_MS / 1000),
        p50,
        p99,
        max: cr.max - clockCorrectionMs,
        pass: reasons.length === 0,
        why: reasons.join(', '),
        othersPct,
        cpuUsPerDelivery: (sr.cpuMs * 1000) / Math.max(1, sr.published * meanFanout),
      };
      log(
        `  ${fmtInt(target)}/s (${fmtInt(eventsPerSec)} events/s): ${fmtInt(level.rate)} delivered/s, ` +
          `p50 ${fmtMs(p50)} p99 ${fmtMs(p99)} max ${fmtMs(level.max)} ms; CPU server ${pct(sr.cpuMs, sr.wallMs)} ` +
          `client ${pct(cr.cpuMs, sr.wallMs)} others ${fmtInt(othersPct)}%; loop delay max ` +
          `${fmtMs(sr.loopDelayMaxMs)} ms${level.pass ? '' : ` — FAIL: ${level.why}`}`,
      );
      if (cr.open < n) {
        const again = await caller<ConnectResult>(
          { type: 'connect', kind, port: ready.port, tokens: ready.tokens, userOf, sioClient },
          180_000,
        );
        log(`  reconnected: ${fmtInt(again.open)} open`);
      }
      return level;
    };
    const stepDeadline = Math.min(deadline, clock() + STEP_LEVELS_S * 1000);
    /** One level, run again once if it failed while other work on the machine was busy. */
    const runAt = async (target: number): Promise<Level> => {
      let level = await measure(target);
      if (!level.pass && level.othersPct > NOISY_PCT && clock() < stepDeadline) {
        log(`  (other work took ${fmtInt(level.othersPct)}% of a core meanwhile: once more)`);
        level = await measure(target);
      }
      levels.push(level);
      return level;
    };
    // Warm-up, not measured: the first publish makes Easel's hub send its (coalesced) queue_status to every
    // connection once, and the first seconds of traffic compile the hot paths and grow the heaps.
    await callS<LevelResult>(
      { type: 'level', level: { eventsPerSec: PRIME_RATE / meanFanout, warmMs: PRIME_MS, measureMs: 0 } },
      60_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    let lastPass: number | undefined;
    let firstFail: number | undefined;
    for (const target of LADDER) {
      if (clock() > stepDeadline) {
        cutShort = true;
        break;
      }
      if ((await runAt(target)).pass) {
        lastPass = target;
      } else {
        firstFail = target;
        break;
      }
    }
    if (firstFail !== undefined) {
      let lo = lastPass ?? firstFail / 4;
      let hi = firstFail;
      for (let b = 0; b < BISECTIONS + (lastPass === undefined ? 1 : 0); b++) {
        if (clock() > stepDeadline) {
          cutShort = true;
          break;
        }
        const mid = Math.round(Math.sqrt(lo * hi) / 100) * 100;
        if ((await runAt(mid)).pass) {
          lo = mid;
        } else {
          hi = mid;
        }
      }
    }
    const best = levels.filter((l) => l.pass).sort((a, b) => b.rate - a.rate)[0];
    return {
      kind,
      n,
      sioClient,
      meanFanout,
      setupMs: ready.setupMs,
      connect,
      serverCount,
      memBefore,
      memAfter,
      clockCorrectionMs,
      levels,
      best,
      cutShort,
    };
  } finally {
    if (client) {
      await stopChild(client, callC);
      children.delete(client);
    }
    await stopChild(server, callS);
    children.delete(server);
    // Let the sockets of this step close before the next server starts.
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// ---- the report ----------------------------------------------------------------------------------------
interface Meta {
  seconds: number;
  loadStart: string;
  loadEnd: string;
  versions: Record<string, string>;
}

function report(steps: Step[], meta: Meta): string {
  const get = (kind: Kind, n: number) =>
    steps.find((s) => s.kind === kind && s.n === n && s.sioClient === 'wire');
  const library = (n: number) => steps.find((s) => s.n === n && s.sioClient === 'library');
  const perConn = (s: Step, key: keyof Memory) =>
    (s.memAfter[key] - s.memBefore[key]) / Math.max(1, s.connect.open);
  // Open after connecting and through every passing level (past the sustainable rate, Easel ends the
  // streams that fall too far behind by design; the level table shows them).
  const held = (s: Step) =>
    Math.min(s.connect.open, s.serverCount, ...s.levels.filter((l) => l.pass).map((l) => l.client.open));
  const at = (s: Step | undefined, rate: number) => s?.levels.find((l) => l.target === rate);
  const verdict = (ok: boolean | undefined) => (ok === undefined ? '–' : ok ? '**met**' : '**not met**');
  const lat = (l: Level | undefined) => (l ? `${fmtMs(l.p50)} / ${fmtMs(l.p99)} ms` : '–');
  const sustained = (s: Step) =>
    s.best
      ? `${fmtInt(s.best.rate)}${s.cutShort ? ' (cut short)' : ''}`
      : s.levels.length === 0
        ? 'no level run (time budget spent)'
        : `< ${fmtInt(s.levels.at(-1)?.target ?? 0)}`;
  const rows: string[][] = [];
  for (const n of COUNTS) {
    const cells = (f: (s: Step) => string) =>
      KINDS.map((k) => {
        const s = get(k, n);
        return s ? f(s) : 'not run';
      });
    const e = get('easel', n);
    const io = get('socketio', n);
    const ratio = e?.best && io?.best ? e.best.rate / io.best.rate : Number.NaN;
    const common = at(e, COMMON_RATE);
    const nn = fmtInt(n);
    rows.push(
      [
        'Connections held',
        nn,
        ...cells((s) => fmtInt(held(s))),
        n === 10_000 ? '10,000 held' : `all ${nn}`,
        verdict(e ? held(e) >= n : undefined),
      ],
      [
        'Time to open them (200 at a time)',
        nn,
        ...cells((s) => `${(s.connect.ms / 1000).toFixed(1)} s`),
        '–',
        '–',
      ],
      [
        'Server memory per idle connection, RSS delta',
        nn,
        ...cells((s) => fmtKb(perConn(s, 'rss'))),
        '≤ 20 KB',
        verdict(e ? perConn(e, 'rss') <= 20 * 1024 : undefined),
      ],
      [
        'Server memory per idle connection, heapUsed delta',
        nn,
        ...cells((s) => fmtKb(perConn(s, 'heapUsed'))),
        '≤ 20 KB',
        verdict(e ? perConn(e, 'heapUsed') <= 20 * 1024 : undefined),
      ],
      [
        `Sustainable deliveries/s (highest level with p99 < ${P99_LIMIT_MS} ms, none lost)`,
        nn,
        ...cells(sustained),
        '≥ 20,000/s',
        verdict(e ? (e.best?.rate ?? 0) >= 20_000 : undefined),
      ],
      [
        'Latency p50 / p99 at that rate',
        nn,
        ...cells((s) => lat(s.best)),
        `p99 < ${P99_LIMIT_MS} ms`,
        verdict(e?.best ? e.best.p99 < P99_LIMIT_MS : undefined),
      ],
      [
        `Latency p50 / p99 at ${fmtInt(COMMON_RATE)} deliveries/s`,
        nn,
        ...cells((s) => lat(at(s, COMMON_RATE))),
        `p99 < ${P99_LIMIT_MS} ms`,
        verdict(common ? common.p99 < P99_LIMIT_MS : undefined),
      ],
      [
        `Server CPU per delivery at ${fmtInt(COMMON_RATE)}/s (all threads)`,
        nn,
        ...cells((s) => {
          const l = at(s, COMMON_RATE);
          return l ? `${l.cpuUsPerDelivery.toFixed(1)} µs` : '–';
        }),
        '–',
        '–',
      ],
      [
        'Client process CPU at the sustainable rate (100% = one core)',
        nn,
        ...cells((s) => (s.best ? pct(s.best.client.cpuMs, s.best.server.wallMs) : '–')),
        '–',
        '–',
      ],
      [
        `Easel ÷ Socket.IO deliveries/s at equal p99 (< ${P99_LIMIT_MS} ms)`,
        nn,
        Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '–',
        '1×',
        '–',
        '≥ 1.5×',
        verdict(Number.isFinite(ratio) ? ratio >= 1.5 : undefined),
      ],
    );
    const lib = library(n);
    if (lib) {
      const libRatio = e?.best && lib.best ? e.best.rate / lib.best.rate : Number.NaN;
      rows.push(
        [
          'Socket.IO read by socket.io-client instead: sustainable deliveries/s (client CPU)',
          nn,
          '–',
          `${sustained(lib)} (${lib.best ? pct(lib.best.client.cpuMs, lib.best.server.wallMs) : '–'})`,
          '–',
          '–',
          '–',
        ],
        [
          'Easel ÷ Socket.IO read by socket.io-client',
          nn,
          Number.isFinite(libRatio) ? `${libRatio.toFixed(2)}×` : '–',
          '1×',
          '–',
          '≥ 1.5×',
          verdict(Number.isFinite(libRatio) ? libRatio >= 1.5 : undefined),
        ],
      );
    }
  }
  const table = [
    '| Measurement | Connections | Easel | Socket.IO | bare node:http | Target | Met? (Easel) |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((c) => `| ${c.join(' | ')} |`),
  ].join('\n');
  const levelRows = steps.flatMap((s) =>
    s.levels.map((l) =>
      [
        `${KIND_NAMES[s.kind]}${s.sioClient === 'library' ? ' (socket.io-client)' : ''}`,
        fmtInt(s.n),
        fmtInt(l.target),
        fmtInt(l.eventsPerSec),
        fmtInt(l.rate),
        fmtMs(l.p50),
        fmtMs(l.p99),
        fmtMs(l.max),
        pct(l.server.cpuMs, l.server.wallMs),
        `${l.cpuUsPerDelivery.toFixed(1)} µs`,
        fmtMs(l.server.loopDelayMaxMs),
        pct(l.client.cpuMs, l.server.wallMs),
        `${fmtInt(Math.max(0, l.othersPct))}%`,
        l.pass ? 'pass' : `fail: ${l.why}`,
      ].join(' | '),
    ),
  );
  const levels = [
    '| Server | Conns | Target/s | Events/s | Delivered/s | p50 ms | p99 ms | max ms | Server CPU | per delivery | Loop delay max ms | Client CPU | Others | |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...levelRows.map((r) => `| ${r} |`),
  ].join('\n');
  const shapes = COUNTS.map((n) => {
    const { tabs } = planFor(n);
    const owners = tabs.slice(ADMINS);
    const adminTabs = tabs.slice(0, ADMINS).reduce((a, b) => a + b, 0);
    const perUser = owners.reduce((a, t) => a + t, 0) / owners.length;
    return `${fmtInt(n)}: ${perUser.toFixed(1)} tabs per user, ${(perUser + adminTabs).toFixed(1)} deliveries per event`;
  });
  const corrections = steps.map((s) => Math.abs(s.clockCorrectionMs));
  return `# Event-stream (SSE) benchmark

- Date: ${new Date().toISOString()}
- Machine: nproc ${availableParallelism()} (${cpus()[0]?.model ?? 'unknown CPU'}); load average at start ${meta.loadStart}, at end ${meta.loadEnd}
- Node ${process.version}; ${Object.entries(meta.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}
- Command: \`npm run bench:sse\` (\`npx tsx bench/sse.ts\`); method in bench/README.md. Whole run ${meta.seconds.toFixed(0)} s.
- Load: ${USERS} users and ${ADMINS} admins (${ADMIN_TABS} tabs each); each publish is one \`invocation_progress\`
  owned by the next user round-robin, delivered to the owner's tabs and every admin's tabs
  (${shapes.join('; ')}). After connecting, ${PRIME_MS} ms at ${fmtInt(PRIME_RATE)} deliveries/s (not measured); then
  levels of ${WARM_MS} ms warm-up and ${MEASURE_MS} ms measured at ${LADDER.map(fmtInt).join(', ')} deliveries/s until one
  fails, then ${BISECTIONS} bisections between the last pass and the fail.
- Latency: the client's clock when it parsed the event − the event's scheduled send time (\`sent_at\`); the
  processes' clocks agree within ${fmtMs(Math.max(0, ...corrections))} ms (measured over IPC, corrected).
- Clients: one process; SSE read on raw TCP sockets, Socket.IO by a minimal Engine.IO/Socket.IO client on
  raw TCP (the same cost per message), except the "read by socket.io-client" rows. Server kinds run one at a
  time, each in a fresh process.

${table}

Every level (Server CPU: all threads of the server process over the level, 100% = one core; per delivery:
that CPU over the deliveries; Others: CPU the rest of the machine used meanwhile, including the kernel's
loopback work, % of a core, from tick-sampled /proc/stat, so approximate; a failed level is run once more
when it is over ${NOISY_PCT}%):

${levels}
`;
}

// ---- main ----------------------------------------------------------------------------------------------
async function versionOf(pkg: string): Promise<string> {
  const json = JSON.parse(
    await readFile(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8'),
  );
  return String(json.version);
}

async function main() {
  const started = performance.now();
  const deadline = clock() + BUDGET_S * 1000;
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const kill = () => {
    for (const c of children) {
      c.kill('SIGKILL');
    }
  };
  process.once('SIGINT', () => {
    log('interrupted: stopping the children');
    kill();
    process.exit(130);
  });
  process.once('exit', kill);
  const steps: Step[] = [];
  for (const n of COUNTS) {
    for (const kind of KIND_LIST) {
      steps.push(await step(kind, n, deadline));
    }
  }
  if (KIND_LIST.includes('socketio')) {
    for (const n of LIBRARY_COUNTS) {
      steps.push(await step('socketio', n, deadline, 'library'));
    }
  }
  const versions: Record<string, string> = {};
  for (const p of ['hono', '@hono/node-server', 'socket.io', 'socket.io-client']) {
    versions[p] = await versionOf(p);
  }
  const md = report(steps, {
    seconds: (performance.now() - started) / 1000,
    loadStart: load,
    loadEnd: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    versions,
  });
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(RESULTS, md);
  console.log(md);
  log(`wrote ${RESULTS.pathname}`);
}

await main();
