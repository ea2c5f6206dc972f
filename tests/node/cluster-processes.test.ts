import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textToImageGraph, textToImageTrace } from '../helpers/graphs.ts';
import { type SseFrame, SseReader, withIds } from '../helpers/sse.ts';
import { api, connect, dataOf, enqueue, kill, ok, Q, Scratch, statusIs } from './process-api.ts';
import { childEnv, freePort, projectRoot, type RunningServer, startServer } from './spawn.ts';

// Issue 14's real-process tests: three processes (ROLE all, all, worker) of one installation on a PostgreSQL
// database of their own, with BLOB_STORE=postgres and a DATA_DIR each, running the bundled tiny model. One
// cluster serves every test of the file, in order (each test leaves it idle for the next).
const NODE_ENTRY = ['--import', 'tsx', 'src/main.node.ts'];
/** The smallest lease the environment accepts (src/env.ts). */
const LEASE_SECONDS = 5;
const JWT_SECRET = 'cluster-processes-test-secret-0123456789abcdef';
const ADMIN = { email: 'admin@example.com', password: 'correct horse battery' };
const PASSWORD = 'correct horse battery';
/** A wait on a run or a start: only turns a missing event into a readable failure. */
const WAIT = 60_000;

interface Proc extends RunningServer {
  nodeId: string;
  dataDir: string;
}

interface Account {
  userId: string;
  token: string;
}

interface ItemView {
  item_id: number;
  status: string;
  worker_id: string | null;
  device: string | null;
  error_type: string | null;
}

const ofItem = (frames: SseFrame[], itemId: number) =>
  withIds(frames).filter((f) => dataOf(f).item_id === itemId);
const statuses = (frames: SseFrame[], itemId: number) =>
  ofItem(frames, itemId)
    .filter((f) => f.event === 'queue_item_status_changed')
    .map((f) => dataOf(f).status);

/** An item's events as `event:node[:step/total]`, status changes as `status:<status>`. */
function trace(frames: SseFrame[], itemId: number): string[] {
  return ofItem(frames, itemId).map((f) => {
    const d = f.data as { status?: string; invocation?: { id: string }; step?: number; total_steps?: number };
    if (f.event === 'queue_item_status_changed') {
      return `status:${d.status}`;
    }
    const step = f.event === 'invocation_progress' ? `:${d.step}/${d.total_steps}` : '';
    return `${(f.event as string).replace('invocation_', '')}:${d.invocation?.id}${step}`;
  });
}

/**
 * Channel events as a replay gives them: `invocation_progress` may come back with `image: null` (the log
 * keeps no previews, docs/adr/0004-channel-log.md), so previews are left out of the comparison.
 */
const replayable = (frames: SseFrame[]) =>
  withIds(frames).map((f) => ({
    id: f.id,
    event: f.event,
    data: f.event === 'invocation_progress' ? { ...dataOf(f), image: null } : f.data,
  }));

// Each test waits on runs, leases and process starts, each wait bounded by WAIT: a test's limit covers two.
describe('three processes on one PostgreSQL (ROLE all, all, worker)', { timeout: 2 * WAIT }, () => {
  let scratch: Scratch;
  let db: postgres.Sql;
  const procs: Proc[] = [];
  let a: Proc;
  let b: Proc;
  let c: Proc;
  let adminToken: string;
  let alice: Account;
  let bob: Account;
  /** Alice's tab on B, open from the start until the restart: her channel as every process numbers it. */
  let aliceOnB: SseReader;
  /** The admin's tab on A: every item's events, to wait on. */
  let adminOnA: SseReader;
  const cWorker = 'c/0:cpu';

  async function start(
    name: string,
    role: 'all' | 'worker',
    nodeId = name,
    adminVars = false,
  ): Promise<Proc> {
    const dataDir = join(scratch.root, nodeId);
    const env = childEnv({
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      DATA_DIR: dataDir,
      MODELS_DIR: join(projectRoot, 'models'),
      DATABASE_URL: scratch.url,
      JWT_SECRET,
      BLOB_STORE: 'postgres',
      ROLE: role,
      NODE_ID: nodeId,
      LEASE_SECONDS: String(LEASE_SECONDS),
      LOG_LEVEL: 'warn',
      ...(adminVars ? { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } : {}),
    });
    const proc = { ...(await startServer(process.execPath, NODE_ENTRY, env, WAIT)), nodeId, dataDir };
    procs.push(proc);
    return proc;
  }

  const tokenFor = (email: string): Promise<Account> => scratch.tokenFor(email);

  async function createUser(email: string): Promise<Account> {
    await ok(api(a, 'POST', '/api/v1/users', adminToken, { email, password: PASSWORD }), 201);
    return tokenFor(email);
  }

  /**
   * Makes C's worker claim what `enqueueTarget` enqueues: with C stopped (SIGSTOP), two long items of Bob's
   * take the workers of A and B (one worker each, and a worker busy with inference claims nothing); C is
   * continued, the target enqueued, and Bob's items canceled once C holds the target.
   */
  async function runOnC(enqueueTarget: () => Promise<number>): Promise<number> {
    c.child.kill('SIGSTOP');
    let blockers: { item_ids: number[]; batch: { batch_id: string } };
    try {
      blockers = await enqueue(a, bob.token, textToImageGraph({ steps: 200, width: 256, height: 256 }), 2);
      for (const id of blockers.item_ids) {
        await adminOnA.until(statusIs(id, 'in_progress'), `Bob's item ${id} started`, WAIT);
      }
    } finally {
      c.child.kill('SIGCONT');
    }
    const busy = await Promise.all(
      blockers.item_ids.map((id) => ok<ItemView>(api(a, 'GET', `${Q}/i/${id}`, bob.token))),
    );
    expect(busy.map((i) => i.worker_id).sort()).toEqual(['a/0:cpu', 'b/0:cpu']);
    const target = await enqueueTarget();
    await adminOnA.until(statusIs(target, 'in_progress'), `item ${target} started`, WAIT);
    await ok(api(a, 'PUT', `${Q}/cancel_by_batch_ids`, bob.token, { batch_ids: [blockers.batch.batch_id] }));
    return target;
  }

  beforeAll(async () => {
    scratch = await Scratch.create(JWT_SECRET, 'c');
    db = scratch.db;
    // In parallel: migrations run under an advisory lock; only A creates the admin.
    [a, b, c] = await Promise.all([start('a', 'all', 'a', true), start('b', 'all'), start('c', 'worker')]);
    adminToken = (await tokenFor(ADMIN.email)).token;
    [alice, bob] = await Promise.all([createUser('alice@example.com'), createUser('bob@example.com')]);
    [aliceOnB, adminOnA] = await Promise.all([connect(b, alice.token), connect(a, adminToken)]);
  }, 2 * WAIT);

  afterAll(async () => {
    // SIGKILL: the restart test checks a graceful stop; here only the time matters.
    await Promise.all(procs.map(kill));
    await scratch?.drop();
  });

  it("gives Alice's tabs on A and B the same events for an item C ran; its image reads through A, its signed URL through B", async () => {
    const aliceOnA = await connect(a, alice.token);
    const target = await runOnC(
      async () =>
        (await enqueue(a, alice.token, textToImageGraph({ steps: 2, seed: 7 }))).item_ids[0] as number,
    );
    await Promise.all([
      aliceOnA.until(statusIs(target, 'completed'), 'the item completed on A', WAIT),
      aliceOnB.until(statusIs(target, 'completed'), 'the item completed on B', WAIT),
    ]);
    const item = await ok<ItemView>(api(b, 'GET', `${Q}/i/${target}`, alice.token));
    expect([item.status, item.worker_id, item.device]).toEqual(['completed', cWorker, 'cpu']);
    expect(trace(aliceOnA.frames, target)).toEqual(textToImageTrace(2));
    // Same ids and data on both processes. Previews travel in the notification, best effort (a tailer that
    // read the row before its notification came delivers it with `image: null`): a preview or null.
    expect(replayable(ofItem(aliceOnB.frames, target))).toEqual(replayable(ofItem(aliceOnA.frames, target)));
    for (const f of [...ofItem(aliceOnA.frames, target), ...ofItem(aliceOnB.frames, target)]) {
      if (f.event === 'invocation_progress' && dataOf(f).image !== null) {
        expect(dataOf(f).image).toEqual({
          dataURL: expect.stringMatching(/^data:image\/jpeg;base64,/),
          width: expect.any(Number),
          height: expect.any(Number),
        });
      }
    }
    await aliceOnA.close();

    const images = await ok<{ items: { image_name: string; queue_item_id: number; image_url: string }[] }>(
      api(a, 'GET', '/api/v1/images', alice.token),
    );
    const [image, ...others] = images.items.filter((i) => i.queue_item_id === target);
    expect(others).toEqual([]);
    if (!image) {
      throw new Error('no image for the item');
    }
    const full = await api(a, 'GET', `/api/v1/images/i/${image.image_name}/full`, alice.token);
    expect([full.status, full.headers.get('content-type')]).toEqual([200, 'image/png']);
    const bytes = Buffer.from(await full.arrayBuffer());
    const dto = await ok<{ image_url: string }>(
      api(b, 'GET', `/api/v1/images/i/${image.image_name}`, alice.token),
    );
    const signed = await fetch(new URL(dto.image_url, b.url));
    expect([signed.status, signed.headers.get('content-type')]).toEqual([200, 'image/png']);
    expect(Buffer.from(await signed.arrayBuffer()).equals(bytes)).toBe(true);
    // The bytes are in the database; no process wrote image files.
    const [blob] = await db`SELECT size AS n FROM blobs WHERE key = ${`images/${image.image_name}`}`;
    expect(Number(blob?.n)).toBe(bytes.length);
    expect([a, b, c].map((p) => existsSync(join(p.dataDir, 'images')))).toEqual([false, false, false]);
  });

  it('resumes a stream closed on A on B with Last-Event-ID: exactly the events after that id, no resync', async () => {
    const aliceOnA = await connect(a, alice.token);
    const item = (await enqueue(b, alice.token, textToImageGraph({ steps: 2, seed: 8 })))
      .item_ids[0] as number;
    await aliceOnA.until(statusIs(item, 'completed'), 'the item completed', WAIT);
    await aliceOnA.close();
    const seen = withIds(aliceOnA.frames);
    // Closed in the middle of the item's run: resume from its denoise start.
    const from = seen.findIndex(
      (f) =>
        f.event === 'invocation_started' &&
        dataOf(f).item_id === item &&
        trace([f], item)[0] === 'started:denoise',
    );
    expect(from).toBeGreaterThan(0);
    const missed = seen.slice(from + 1);
    const last = missed.at(-1)?.id;
    const resumed = await connect(b, alice.token, seen[from]?.id);
    await resumed.until((frames) => frames.some((f) => f.id === last), 'the last missed event', WAIT);
    expect(resumed.names().filter((n) => n === 'resync' || n === 'connected')).toEqual(['connected']);
    expect(replayable(resumed.frames)).toEqual(replayable(missed));
    await resumed.close();
  });

  it('pauses through A: no process claims within 1 s; resumes through B: the items run', async () => {
    expect(await ok(api(a, 'PUT', `${Q}/processor/pause`, adminToken))).toEqual({
      is_started: false,
      is_processing: false,
    });
    const pausedAt = Date.now();
    const { item_ids } = await enqueue(b, alice.token, textToImageGraph({ steps: 2, seed: 9 }), 3);
    for (const proc of [a, b]) {
      const status = await ok<{ processor: unknown }>(api(proc, 'GET', `${Q}/status`, alice.token));
      expect(status.processor).toEqual({ is_started: false, is_processing: false });
    }
    // The bound under test: every worker heard of the enqueue (NOTIFY) at once; none claims while paused.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, pausedAt + 1000 - Date.now())));
    const rows =
      await db`SELECT status, worker_id FROM session_queue WHERE item_id = ANY(${item_ids}) ORDER BY item_id`;
    expect(rows.map((r) => [r.status, r.worker_id])).toEqual(item_ids.map(() => ['pending', null]));

    const resumed = await ok<{ is_started: boolean }>(api(b, 'PUT', `${Q}/processor/resume`, adminToken));
    expect(resumed).toEqual({ is_started: true, is_processing: expect.any(Boolean) });
    for (const id of item_ids) {
      await adminOnA.until(statusIs(id, 'completed'), `item ${id} completed`, WAIT);
    }
    const done = await db`SELECT status, worker_id FROM session_queue WHERE item_id = ANY(${item_ids})`;
    for (const row of done) {
      expect(row.status).toBe('completed');
      expect(['a/0:cpu', 'b/0:cpu', cWorker]).toContain(row.worker_id);
    }
  });

  it('ends on B within 2 s a stream of a session logged out through A; a login limit reached through A holds on B; a ticket from A opens a stream on B', async () => {
    const second = (await tokenFor('alice@example.com')).token;
    const stream = await connect(b, second);
    // Logged out with a token refreshed from it: the whole session (its sid) ends.
    const write = await api(a, 'PATCH', '/api/v1/auth/me', second, { display_name: 'Alice' });
    expect(write.status).toBe(200);
    const refreshed = write.headers.get('x-refreshed-token') as string;
    const loggedOut = await api(a, 'POST', '/api/v1/auth/logout', refreshed);
    expect(loggedOut.status).toBe(204);
    const at = Date.now();
    await stream.untilEnd(2000);
    expect(Date.now() - at).toBeLessThan(2000);
    expect(stream.events.at(-1)).toEqual({ event: 'auth_expired', data: { reason: 'token_revoked' } });
    expect((await api(b, 'GET', '/api/v1/auth/me', second)).status).toBe(401);
    // Only that session ended: Alice's other token still works on B (and its stream on B, read to its end
    // in the last test, stays open).
    expect(await ok(api(b, 'GET', '/api/v1/auth/me', alice.token))).toMatchObject({ user_id: alice.userId });

    for (let i = 0; i < 5; i++) {
      const res = await api(a, 'POST', '/api/v1/auth/login', undefined, {
        email: 'bob@example.com',
        password: `wrong password ${i}`,
      });
      expect(res.status).toBe(401);
    }
    const limited = await api(b, 'POST', '/api/v1/auth/login', undefined, {
      email: 'bob@example.com',
      password: PASSWORD,
    });
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    // 15 minutes from the first failure, less the seconds the five hashed attempts took.
    expect(retryAfter).toBeGreaterThan(840);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(await limited.json()).toEqual({
      type: '/docs#error-rate_limited',
      title: 'Too many requests',
      status: 429,
      code: 'rate_limited',
      detail: `Too many failed logins; try again in ${retryAfter} seconds.`,
      request_id: limited.headers.get('x-request-id'),
    });

    const { ticket, expires_in } = await ok<{ ticket: string; expires_in: number }>(
      api(a, 'POST', '/api/v1/events/ticket', alice.token),
    );
    expect(expires_in).toBe(60);
    const res = await fetch(`${b.url}/api/v1/events?queue_id=default&ticket=${encodeURIComponent(ticket)}`);
    expect(res.status).toBe(200);
    const viaTicket = new SseReader(res.body);
    await viaTicket.untilEvent('connected');
    expect(viaTicket.events[0]?.data).toEqual({
      connection_id: expect.any(String),
      user_id: alice.userId,
      is_admin: false,
    });
    await viaTicket.close();
    // Single use, on every process.
    const again = await fetch(`${a.url}/api/v1/events?queue_id=default&ticket=${encodeURIComponent(ticket)}`);
    expect(again.status).toBe(401);
    await again.body?.cancel();
  });

  let killedAt = 0;
  let longItem = 0;

  it('finishes on another worker, within LEASE_SECONDS + 10 s plus its run, an item whose process was killed (-9): one image, one interruption', async () => {
    longItem = await runOnC(
      async () =>
        (await enqueue(a, alice.token, textToImageGraph({ steps: 200, width: 128, height: 128, seed: 10 })))
          .item_ids[0] as number,
    );
    await adminOnA.until(
      (frames) =>
        ofItem(frames, longItem).some(
          (f) => f.event === 'invocation_progress' && (dataOf(f).step as number) >= 2,
        ),
      'step 2 of the long item',
      WAIT,
    );
    killedAt = Date.now();
    await kill(c);
    const running = await ok<ItemView>(api(a, 'GET', `${Q}/i/${longItem}`, alice.token));
    expect([running.status, running.worker_id]).toEqual(['in_progress', cWorker]);

    await adminOnA.until(statusIs(longItem, 'pending'), 'the item re-queued', WAIT);
    await adminOnA.until(
      (frames) => statuses(frames, longItem).filter((s) => s === 'in_progress').length === 2,
      'the item started again',
      WAIT,
    );
    const restartedAt = Date.now();
    await adminOnA.until(statusIs(longItem, 'completed'), 'the item completed', WAIT);
    expect(restartedAt - killedAt).toBeLessThanOrEqual((LEASE_SECONDS + 10) * 1000);
    expect(statuses(adminOnA.frames, longItem)).toEqual([
      'in_progress',
      'pending',
      'in_progress',
      'completed',
    ]);

    const [row] =
      await db`SELECT status, worker_id, interruptions FROM session_queue WHERE item_id = ${longItem}`;
    expect(row?.status).toBe('completed');
    expect(row?.interruptions).toBe(1);
    expect(['a/0:cpu', 'b/0:cpu']).toContain(row?.worker_id);
    const images = await ok<{ items: { queue_item_id: number }[] }>(
      api(b, 'GET', '/api/v1/images', alice.token),
    );
    expect(images.items.filter((i) => i.queue_item_id === longItem)).toHaveLength(1);
    const [blobs] = await db`SELECT count(*)::int AS n FROM images WHERE queue_item_id = ${longItem}`;
    expect(blobs?.n).toBe(1);
  });

  it('resumes a Last-Event-ID from before once every process stopped and one started again; lists the killed worker gone', async () => {
    expect(killedAt).toBeGreaterThan(0);
    // Alice's tab on B read up to her channel's newest event (the log's head).
    const [head] = await db`SELECT last_id FROM channel_heads WHERE user_id = ${alice.userId}`;
    await aliceOnB.until(
      (frames) => frames.some((f) => f.id?.endsWith(`-${head?.last_id}`)),
      "Alice's newest event on B",
      WAIT,
    );
    const before = withIds(aliceOnB.frames);
    const from = Math.floor(before.length / 2);
    const missed = before.slice(from + 1);
    const last = missed.at(-1)?.id;
    await aliceOnB.close();
    // The whole installation goes down (C was killed; A and B stop gracefully), then one process comes back:
    // the history it replays can only come from the log.
    expect(await Promise.all([a.stop(), b.stop()])).toEqual([0, 0]);
    a = await start('a', 'all');

    const resumed = await connect(a, alice.token, before[from]?.id);
    await resumed.until((frames) => frames.some((f) => f.id === last), 'the last event from before', WAIT);
    expect(resumed.names().filter((n) => n === 'resync' || n === 'connected')).toEqual(['connected']);
    expect(replayable(resumed.frames)).toEqual(replayable(missed));
    await resumed.close();

    // `gone` once unseen for LEASE_SECONDS + 10 s (its last heartbeat was at most LEASE_SECONDS / 3 before the kill).
    const deadline = killedAt + (LEASE_SECONDS + 10 + LEASE_SECONDS / 3) * 1000 + 2000;
    let workers: { worker_id: string; state: string }[];
    for (;;) {
      workers = await ok(api(a, 'GET', '/api/v1/workers', adminToken));
      if (workers.find((w) => w.worker_id === cWorker)?.state === 'gone' || Date.now() > deadline) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(workers).toEqual([
      {
        worker_id: 'a/0:cpu',
        node_id: 'a',
        device: 'cpu',
        state: 'idle',
        item_id: null,
        last_seen_at: expect.any(String),
      },
      {
        worker_id: 'b/0:cpu',
        node_id: 'b',
        device: 'cpu',
        // Stopped after the kill: gone too if the restart took longer than LEASE_SECONDS + 10 s.
        state: expect.stringMatching(/^(idle|gone)$/),
        item_id: null,
        last_seen_at: expect.any(String),
      },
      {
        worker_id: cWorker,
        node_id: 'c',
        device: 'cpu',
        state: 'gone',
        item_id: longItem,
        last_seen_at: expect.any(String),
      },
    ]);
  });
});
