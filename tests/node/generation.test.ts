import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPngText } from '../../src/images/png-text.ts';
import { imageToImageGraph, textToImageGraph, textToImageTrace } from '../helpers/graphs.ts';
import { type SseFrame, SseReader } from '../helpers/sse.ts';
import { migratedDataDir } from './data-dir.ts';
import { childEnv, freePort, projectRoot, type RunningServer, startServer } from './spawn.ts';

// The real server as `npm start` runs it (PGlite, the bundled tiny model, the inference child process).
const NODE_ENTRY = ['--import', 'tsx', 'src/main.node.ts'];
const ADMIN = { email: 'admin@example.com', password: 'correct horse battery' };
const PASSWORD = 'correct horse battery';
const Q = '/api/v1/queue/default';
/** Generation waits: a run of the tiny model takes well under a second, a cold start a few. */
const RUN_TIMEOUT = 60_000;
/** startServer's own limit on a start (a fresh PGlite data directory is made), waiting on its output line. */
const SERVER_TIMEOUT = 60_000;

interface Server extends RunningServer {
  dataDir: string;
}

async function start(dataDir: string, port: number): Promise<Server> {
  const env = childEnv({
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    MODELS_DIR: join(projectRoot, 'models'),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    PROGRESS_MAX_HZ: '1000',
    LOG_LEVEL: 'warn',
  });
  return { ...(await startServer(process.execPath, NODE_ENTRY, env)), dataDir };
}

function api(server: Server, method: string, path: string, token?: string, json?: unknown) {
  return fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(json === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
}

async function login(server: Server, email: string, password: string): Promise<string> {
  const res = await api(server, 'POST', '/api/v1/auth/login', undefined, { email, password });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

async function createUser(server: Server, adminToken: string, email: string, displayName: string) {
  const res = await api(server, 'POST', '/api/v1/users', adminToken, {
    email,
    password: PASSWORD,
    display_name: displayName,
  });
  expect(res.status).toBe(201);
  const user = (await res.json()) as { user_id: string };
  return { userId: user.user_id, token: await login(server, email, PASSWORD) };
}

async function connect(server: Server, token: string): Promise<SseReader> {
  const res = await fetch(`${server.url}/api/v1/events?queue_id=default`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  const sse = new SseReader(res.body);
  await sse.untilEvent('connected');
  return sse;
}

async function enqueue(
  server: Server,
  token: string,
  graph: ReturnType<typeof textToImageGraph>,
  runs = 1,
): Promise<{ item_ids: number[]; batch: { batch_id: string } }> {
  const res = await api(server, 'POST', `${Q}/enqueue_batch`, token, { batch: { graph, runs } });
  expect(res.status).toBe(201);
  return res.json();
}

const itemEvents = (frames: SseFrame[], itemId: number) =>
  frames.filter((f) => f.id !== undefined && (f.data as { item_id?: number }).item_id === itemId);

const statusIs = (itemId: number, status: string) => (frames: SseFrame[]) =>
  frames.some(
    (f) =>
      f.event === 'queue_item_status_changed' &&
      (f.data as { item_id: number; status: string }).item_id === itemId &&
      (f.data as { status: string }).status === status,
  );

/** An item's events as `event:node[:step/total]`, status changes as `status:<status>`. */
function trace(frames: SseFrame[], itemId: number): string[] {
  return itemEvents(frames, itemId).map((f) => {
    const d = f.data as { status?: string; invocation?: { id: string }; step?: number; total_steps?: number };
    if (f.event === 'queue_item_status_changed') {
      return `status:${d.status}`;
    }
    const step = f.event === 'invocation_progress' ? `:${d.step}/${d.total_steps}` : '';
    return `${(f.event as string).replace('invocation_', '')}:${d.invocation?.id}${step}`;
  });
}

describe('generation on the real server', () => {
  let root: string;
  let server: Server;
  let adminToken: string;
  let alice: { userId: string; token: string };
  let bob: { userId: string; token: string };
  const servers: Server[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'easel-gen-'));
    server = await start(await migratedDataDir(join(root, 'data')), await freePort());
    servers.push(server);
    adminToken = await login(server, ADMIN.email, ADMIN.password);
    alice = await createUser(server, adminToken, 'alice@example.com', 'Alice');
    bob = await createUser(server, adminToken, 'bob@example.com', 'Bob');
  }, SERVER_TIMEOUT);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (root) {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('runs a batch of 3: the exact events reach the owner and the admin, none the other user; 3 images in the owner board', async () => {
    const board = (await (
      await api(server, 'POST', '/api/v1/boards', alice.token, { board_name: 'Lighthouses' })
    ).json()) as {
      board_id: string;
    };
    const [aliceSse, adminSse, bobSse] = await Promise.all([
      connect(server, alice.token),
      connect(server, adminToken),
      connect(server, bob.token),
    ]);
    const graph = textToImageGraph({
      prompt: 'a lighthouse at dusk',
      seed: 1234,
      steps: 2,
      board_id: board.board_id,
    });
    const { item_ids, batch } = await enqueue(server, alice.token, graph, 3);
    const last = item_ids[2] as number;
    await Promise.all([
      aliceSse.until(statusIs(last, 'completed'), 'the last item completed', RUN_TIMEOUT),
      adminSse.until(statusIs(last, 'completed'), 'the last item completed', RUN_TIMEOUT),
    ]);
    for (const id of item_ids) {
      expect(trace(aliceSse.frames, id)).toEqual(textToImageTrace(2));
      // The admin's copies carry the same data.
      expect(itemEvents(adminSse.frames, id).map((f) => [f.event, f.data])).toEqual(
        itemEvents(aliceSse.frames, id).map((f) => [f.event, f.data]),
      );
    }
    const progress = itemEvents(aliceSse.frames, item_ids[0] as number).find(
      (f) => f.event === 'invocation_progress' && (f.data as { step: number }).step === 1,
    );
    expect((progress?.data as { image?: unknown } | undefined)?.image).toEqual({
      dataURL: expect.stringMatching(/^data:image\/jpeg;base64,/),
      width: 8,
      height: 8,
    });

    // Bob saw the queue move, and nothing of Alice's items.
    await bobSse.until(
      (frames) =>
        frames.some((f) => {
          const d = f.data as { pending?: number; in_progress?: number; completed?: number };
          return f.event === 'queue_status' && d.completed === 3 && d.pending === 0 && d.in_progress === 0;
        }),
      'the queue_status after the batch',
      RUN_TIMEOUT,
    );
    await bobSse.close();
    expect(new Set(bobSse.names())).toEqual(new Set(['connected', 'queue_status']));
    for (const secret of [batch.batch_id, 'lighthouse', ...item_ids.map((id) => `"item_id":${id}`)]) {
      expect(bobSse.text).not.toContain(secret);
    }
    await Promise.all([aliceSse.close(), adminSse.close()]);

    const page = (await (
      await api(server, 'GET', `/api/v1/images?board_id=${board.board_id}`, alice.token)
    ).json()) as {
      items: {
        image_name: string;
        queue_item_id: number;
        user_id: string;
        board_id: string;
        metadata: Record<string, unknown>;
      }[];
      total: number;
    };
    expect(page.total).toBe(3);
    expect(page.items.map((i) => i.queue_item_id).sort()).toEqual([...item_ids].sort());
    for (const image of page.items) {
      expect([image.user_id, image.board_id]).toEqual([alice.userId, board.board_id]);
      expect(image.metadata).toEqual({
        model: 'tiny-sd',
        prompt: 'a lighthouse at dusk',
        negative_prompt: '',
        seed: 1234,
        steps: 2,
        cfg_scale: 7.5,
        scheduler: 'euler',
        width: 64,
        height: 64,
      });
      const full = await api(server, 'GET', `/api/v1/images/i/${image.image_name}/full`, alice.token);
      expect([full.status, full.headers.get('content-type')]).toEqual([200, 'image/png']);
      const text = readPngText(new Uint8Array(await full.arrayBuffer()));
      expect(JSON.parse(text.invokeai_metadata as string)).toMatchObject({
        prompt: 'a lighthouse at dusk',
        seed: 1234,
      });
      const thumbnail = await api(
        server,
        'GET',
        `/api/v1/images/i/${image.image_name}/thumbnail`,
        alice.token,
      );
      expect([thumbnail.status, thumbnail.headers.get('content-type')]).toEqual([200, 'image/webp']);
      const { format, width, height } = await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata();
      expect([format, width, height]).toEqual(['webp', 64, 64]);
      expect((await api(server, 'GET', `/api/v1/images/i/${image.image_name}`, bob.token)).status).toBe(404);
    }
    // The same seed and parameters give byte-identical PNGs.
    const pngs = await Promise.all(
      page.items.map(async (i) =>
        Buffer.from(
          await (
            await api(server, 'GET', `/api/v1/images/i/${i.image_name}/full`, alice.token)
          ).arrayBuffer(),
        ).toString('base64'),
      ),
    );
    expect(new Set(pngs).size).toBe(1);
    const bobs = (await (await api(server, 'GET', '/api/v1/images', bob.token)).json()) as { total: number };
    expect(bobs.total).toBe(0);
    const admins = (await (
      await api(server, 'GET', `/api/v1/images?user_id=${alice.userId}`, adminToken)
    ).json()) as { total: number };
    expect(admins.total).toBe(3);
    // A model loaded and the database is migrated: ready.
    const ready = await fetch(`${server.url}/ready`);
    expect([ready.status, await ready.json()]).toEqual([
      200,
      { status: 'ready', checks: { database: true, model: true } },
    ]);
  });

  it('runs image-to-image on an uploaded image: the i2l node reads it, the result is a new image', async () => {
    const png = await sharp({ create: { width: 80, height: 80, channels: 3, background: '#1eaa32' } })
      .png()
      .toBuffer();
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'green.png');
    const up = await fetch(`${server.url}/api/v1/images/upload`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice.token}` },
      body: form,
    });
    expect(up.status).toBe(201);
    const source = (await up.json()) as { image_name: string };
    const sse = await connect(server, alice.token);
    const graph = imageToImageGraph({ image_name: source.image_name, steps: 4, denoising_start: 0.5 });
    const id = (await enqueue(server, alice.token, graph)).item_ids[0] as number;
    await sse.until(statusIs(id, 'completed'), 'the image-to-image item completed', RUN_TIMEOUT);
    await sse.close();
    const events = trace(sse.frames, id);
    expect(events.slice(0, 6)).toEqual([
      'status:in_progress',
      'started:model',
      'progress:model:0/1',
      'complete:model',
      'started:i2l',
      'complete:i2l',
    ]);
    // denoising_start 0.5 of 4 steps: the last 2 run.
    expect(events.filter((e) => e.startsWith('progress:denoise'))).toEqual([
      'progress:denoise:1/2',
      'progress:denoise:2/2',
    ]);
    const images = (await (await api(server, 'GET', '/api/v1/images', alice.token)).json()) as {
      items: { image_name: string; queue_item_id: number | null; width: number; height: number }[];
    };
    const made = images.items.find((i) => i.queue_item_id === id);
    expect([made?.width, made?.height]).toEqual([64, 64]);
  });

  it('cancels a many-step run within one step, saves no image, and runs the next item', async () => {
    const sse = await connect(server, alice.token);
    const before = (
      (await (await api(server, 'GET', '/api/v1/images', alice.token)).json()) as { total: number }
    ).total;
    // 256² steps (a few ms each): the run is still in its steps when the cancel comes, however loaded the
    // machine (at 64² the 200 steps could end first).
    const long = (
      await enqueue(server, alice.token, textToImageGraph({ steps: 200, seed: 5, width: 256, height: 256 }))
    ).item_ids[0] as number;
    const next = (await enqueue(server, alice.token, textToImageGraph({ steps: 2, seed: 6 })))
      .item_ids[0] as number;
    await sse.until(
      (frames) =>
        itemEvents(frames, long).some(
          (f) => f.event === 'invocation_progress' && (f.data as { step: number }).step >= 3,
        ),
      'step 3 of the long run',
      RUN_TIMEOUT,
    );
    const res = await api(server, 'PUT', `${Q}/i/${long}/cancel`, alice.token);
    expect(res.status).toBe(200);
    await sse.until(statusIs(next, 'completed'), 'the next item completed', RUN_TIMEOUT);
    const events = trace(sse.frames, long);
    const canceledAt = events.indexOf('status:canceled');
    expect(canceledAt).toBeGreaterThan(0);
    // Nothing of the item after it: steps run before the worker heard the cancel and written after it are
    // dropped (src/channels/channel-log.ts, appendEvents).
    expect(events.slice(canceledAt + 1)).toEqual([]);
    expect(events).not.toContain('started:l2i');
    const images = (await (await api(server, 'GET', '/api/v1/images', alice.token)).json()) as {
      total: number;
      items: { queue_item_id: number }[];
    };
    expect(images.total).toBe(before + 1);
    expect(images.items.some((i) => i.queue_item_id === long)).toBe(false);
    await sse.close();
  });

  it('keeps /health fast while a generation runs', async () => {
    const sse = await connect(server, alice.token);
    const id = (await enqueue(server, alice.token, textToImageGraph({ steps: 200, width: 256, height: 256 })))
      .item_ids[0] as number;
    await sse.until(
      (frames) =>
        itemEvents(frames, id).some(
          (f) => f.event === 'invocation_progress' && (f.data as { step: number }).step >= 1,
        ),
      'the first denoise step',
      RUN_TIMEOUT,
    );
    const latencies: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t = performance.now();
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      latencies.push(performance.now() - t);
    }
    const running = (await (await api(server, 'GET', `${Q}/i/${id}`, alice.token)).json()) as {
      status: string;
    };
    expect(running.status).toBe('in_progress');
    await api(server, 'PUT', `${Q}/i/${id}/cancel`, alice.token);
    await sse.close();
    // Inference runs in the child process: a blocked event loop would show whole denoise steps here.
    latencies.sort((a, b) => a - b);
    expect(latencies[Math.floor(latencies.length * 0.95)]).toBeLessThan(250);
  });
});

describe('a server killed during a run', () => {
  let root: string;
  const servers: Server[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'easel-kill-'));
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (root) {
      await rm(root, { recursive: true, force: true });
    }
  });

  // Two server starts and two waits on the run, each with its own limit: the test's limit covers them all.
  it('runs the interrupted item again after a restart, and keeps what finished before the kill', {
    timeout: 2 * SERVER_TIMEOUT + 2 * RUN_TIMEOUT,
  }, async () => {
    const dataDir = await migratedDataDir(join(root, 'data'));
    const port = await freePort();
    const first = await start(dataDir, port);
    servers.push(first);
    const token = await login(first, ADMIN.email, ADMIN.password);
    let sse = await connect(first, token);
    const done = (await enqueue(first, token, textToImageGraph({ steps: 2 }))).item_ids[0] as number;
    await sse.until(statusIs(done, 'completed'), 'the first item completed', RUN_TIMEOUT);
    // 128² × 80 steps: the kill lands well before the run ends (the test sees step 2), and the run again after
    // the restart stays short on a busy CPU.
    const long = (await enqueue(first, token, textToImageGraph({ steps: 80, width: 128, height: 128 })))
      .item_ids[0] as number;
    await sse.until(
      (frames) =>
        itemEvents(frames, long).some(
          (f) => f.event === 'invocation_progress' && (f.data as { step: number }).step >= 2,
        ),
      'step 2 of the long run',
      RUN_TIMEOUT,
    );
    await sse.close();
    first.child.kill('SIGKILL');
    await first.stop();

    const second = await start(dataDir, port);
    servers.push(second);
    sse = await connect(second, token);
    const now = (await (await api(second, 'GET', `${Q}/i/${long}`, token)).json()) as { status: string };
    if (now.status !== 'completed') {
      await sse.until(statusIs(long, 'completed'), 'the interrupted item completed', RUN_TIMEOUT);
    }
    await sse.close();
    const item = (await (await api(second, 'GET', `${Q}/i/${long}`, token)).json()) as {
      status: string;
      error_type: null;
    };
    expect([item.status, item.error_type]).toEqual(['completed', null]);
    // The restart re-queued it (one interruption counted), rather than finding it already done.
    const requeues = second.output.stdout
      .split('\n')
      .filter((line) => line.includes('"re-queued items whose worker stopped"'))
      .map((line) => JSON.parse(line) as { requeued: number[]; failed: number[] })
      .map(({ requeued, failed }) => ({ requeued, failed }));
    expect(requeues).toEqual([{ requeued: [long], failed: [] }]);
    const images = (await (await api(second, 'GET', '/api/v1/images', token)).json()) as {
      items: { image_name: string; queue_item_id: number }[];
    };
    expect(images.items.map((i) => i.queue_item_id).sort()).toEqual([done, long].sort());
    for (const image of images.items) {
      expect((await api(second, 'GET', `/api/v1/images/i/${image.image_name}/full`, token)).status).toBe(200);
    }
  });
});
