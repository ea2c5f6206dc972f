import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import sharp from 'sharp';
import { test as base, describe, expect } from 'vitest';
import { readPngText } from '../../src/images/png-text.ts';
import { must } from '../helpers/common.ts';
import { PG_ADMIN_URL, pgUrlFor } from '../helpers/database.ts';
import { textToImageGraph, textToImageTrace } from '../helpers/graphs.ts';
import { imageFile, pixels } from '../helpers/images.ts';
import { type SseFrame, SseReader, withIds } from '../helpers/sse.ts';
import { migratedDataDir } from '../node/data-dir.ts';
import { childEnv, freePort, projectRoot, type RunningServer, startServer } from '../node/spawn.ts';

// The whole server on Deno, as the README starts it: `deno task start` (deno.json → src/main.deno.ts on
// Deno.serve), the Deno binary from the `deno` devDependency, npm packages from node_modules. One server on
// PGlite (files on disk) and one on PostgreSQL (a database of its own, BLOB_STORE=postgres), started at once;
// every API section is exercised over HTTP, with a real generation of the tiny model in the inference child.
// Vitest stays on Node: only the server runs on Deno.

const DENO = join(projectRoot, 'node_modules', '.bin', 'deno');
const PASSWORD = 'correct horse battery';
const Q = '/api/v1/queue/default';
/** A cold start transpiles the sources and opens the database; generation loads the model in a child. */
const START_TIMEOUT = 120_000;
const RUN_TIMEOUT = 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const IMAGE_NAME = /^[0-9a-f-]{36}\.png$/;
const anUuid = () => expect.stringMatching(UUID);
const aTime = () => expect.stringMatching(TIME);

type Db = 'pglite' | 'postgres';
const DATABASES: Db[] = ['pglite', 'postgres'];

interface Server extends RunningServer {
  /** The PostgreSQL database this server owns, dropped at the end. */
  pgDatabase?: string;
}

/** Starts the server on `db` on `port`, with its data under `root`. */
async function startDeno(root: string, db: Db, port: number): Promise<Server> {
  const vars: Record<string, string> = {
    NO_COLOR: '1',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: db === 'pglite' ? await migratedDataDir(join(root, db)) : join(root, db),
    MODELS_DIR: join(projectRoot, 'models'),
    PROGRESS_MAX_HZ: '1000',
    LOG_LEVEL: 'warn',
  };
  let pgDatabase: string | undefined;
  if (db === 'postgres') {
    pgDatabase = `easel_deno_${crypto.randomUUID().replaceAll('-', '')}`;
    const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${pgDatabase}`);
    await admin.end();
    vars.DATABASE_URL = pgUrlFor(pgDatabase);
    vars.BLOB_STORE = 'postgres';
  }
  const server = await startServer(DENO, ['task', 'start'], childEnv(vars), START_TIMEOUT);
  return { ...server, pgDatabase };
}

/**
 * The file's test API: `version` (package.json's) and `servers`, the server on each database, both started at
 * once the first time a hook or test asks for them; stopped (their PostgreSQL database dropped, their files
 * removed) after the file's last test.
 */
const test = base
  .extend('version', { scope: 'file' }, async () => {
    const pkg = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
    return pkg.version;
  })
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern.
  .extend('servers', { scope: 'file' }, async ({}, { onCleanup }) => {
    const root = await mkdtemp(join(tmpdir(), 'easel-deno-'));
    const servers = new Map<Db, Server>();
    const stopAll = async () => {
      await Promise.all([...servers.values()].map((s) => s.stop()));
      const dropped = [...servers.values()].flatMap((s) => (s.pgDatabase ? [s.pgDatabase] : []));
      if (dropped.length > 0) {
        const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
        for (const name of dropped) {
          await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        }
        await admin.end();
      }
      await rm(root, { recursive: true, force: true });
    };
    try {
      const ports = [await freePort(), await freePort()];
      const started = await Promise.allSettled(
        DATABASES.map((db, i) => startDeno(root, db, ports[i] as number)),
      );
      started.forEach((s, i) => {
        if (s.status === 'fulfilled') {
          servers.set(DATABASES[i] as Db, s.value);
        }
      });
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) {
        throw failed.reason;
      }
    } catch (err) {
      await stopAll();
      throw err;
    }
    onCleanup(stopAll);
    return servers as ReadonlyMap<Db, Server>;
  });
const it = test;

interface CallOptions {
  token?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

/** The problem+json body the API answers with (API.md section 1), whole. */
async function expectProblem(
  res: Response,
  status: number,
  code: string,
  title: string,
  detail: string,
  errors?: { path: string; message: string }[],
): Promise<void> {
  expect([res.status, res.headers.get('content-type')]).toEqual([status, 'application/problem+json']);
  expect(await res.json()).toEqual({
    type: `/docs#error-${code}`,
    title,
    status,
    detail,
    code,
    request_id: res.headers.get('x-request-id'),
    ...(errors ? { errors } : {}),
  });
}

const userBody = (o: { email: string; display_name: string; is_admin?: boolean; logged_in?: boolean }) => ({
  user_id: anUuid(),
  email: o.email,
  display_name: o.display_name,
  is_admin: o.is_admin ?? false,
  is_active: true,
  max_pending: 1000,
  created_at: aTime(),
  last_login_at: o.logged_in ? aTime() : null,
});

/** An item's events as `event:node[:step/total]`, status changes as `status:<status>`. */
function trace(frames: SseFrame[], itemId: number): string[] {
  return itemFrames(frames, itemId).map((f) => {
    const d = f.data as { status?: string; invocation?: { id: string }; step?: number; total_steps?: number };
    if (f.event === 'queue_item_status_changed') {
      return `status:${d.status}`;
    }
    const step = f.event === 'invocation_progress' ? `:${d.step}/${d.total_steps}` : '';
    return `${(f.event as string).replace('invocation_', '')}:${d.invocation?.id}${step}`;
  });
}

/** An event's data without its preview image (`image` dropped). */
const withoutPreview = (data: unknown) => {
  const { image: _, ...rest } = data as Record<string, unknown>;
  return rest;
};

const itemFrames = (frames: SseFrame[], itemId: number) =>
  withIds(frames).filter((f) => (f.data as { item_id?: number }).item_id === itemId);

const statusIs = (itemId: number, status: string) => (frames: SseFrame[]) =>
  frames.some(
    (f) =>
      f.event === 'queue_item_status_changed' &&
      (f.data as { item_id: number; status: string }).item_id === itemId &&
      (f.data as { status: string }).status === status,
  );

describe.each(DATABASES)('the Deno server on %s', (db) => {
  /** This database's server, for the helpers below; set by beforeAll (which starts both servers at once). */
  const fx = {} as { server: Server };
  test.beforeAll(async ({ servers }) => {
    fx.server = servers.get(db) as Server;
  }, START_TIMEOUT);
  const server = () => fx.server;
  const call = (method: string, path: string, o: CallOptions = {}) =>
    fetch(`${server().url}${path}`, {
      method,
      headers: {
        ...(o.token ? { Authorization: `Bearer ${o.token}` } : {}),
        ...(o.json === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...o.headers,
      },
      body: o.json === undefined ? o.body : JSON.stringify(o.json),
    });
  const json = async (res: Response, status: number) => {
    expect(res.status, await res.clone().text()).toBe(status);
    return res.json();
  };
  const login = async (email: string) =>
    (await json(await call('POST', '/api/v1/auth/login', { json: { email, password: PASSWORD } }), 200))
      .token as string;
  const connect = async (token?: string, headers: Record<string, string> = {}, query = '') => {
    const res = await call('GET', `/api/v1/events?queue_id=default${query}`, { token, headers });
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8']);
    const sse = new SseReader(res.body);
    await sse.untilEvent('connected');
    return sse;
  };

  /** What the tests build on: the admin's, Alice's and Bob's tokens and ids, Alice's board and item. */
  const s = {
    admin: '',
    adminId: '',
    alice: '',
    aliceId: '',
    bob: '',
    bobId: '',
    boardId: '',
    itemId: 0,
    imageName: '',
    /** Alice's stream during the generation. */
    aliceFrames: [] as SseFrame[],
  };

  /** Alice's generation: 64×64, two steps, into her board. */
  const aliceGraph = () =>
    textToImageGraph({ prompt: 'a red circle on a blue background', seed: 7, steps: 2, board_id: s.boardId });

  it('health, set-up status and the first admin (409 already_set_up afterwards)', async ({ version }) => {
    expect(await json(await call('GET', '/health'), 200)).toEqual({ status: 'ok', version });
    expect(await json(await call('GET', '/api/v1/auth/status'), 200)).toEqual({
      setup_required: true,
      multiuser_enabled: true,
    });
    const setup = await json(
      await call('POST', '/api/v1/auth/setup', {
        json: { email: 'Admin@Example.com', password: PASSWORD, display_name: 'Admin' },
      }),
      201,
    );
    expect(setup).toEqual({
      token: expect.any(String),
      expires_in: 86400,
      user: userBody({ email: 'admin@example.com', display_name: 'Admin', is_admin: true }),
    });
    s.adminId = setup.user.user_id;
    await expectProblem(
      await call('POST', '/api/v1/auth/setup', { json: { email: 'x@example.com', password: PASSWORD } }),
      409,
      'already_set_up',
      'Already set up',
      'Easel is already set up.',
    );
    expect(await json(await call('GET', '/api/v1/auth/status'), 200)).toEqual({
      setup_required: false,
      multiuser_enabled: true,
    });
  });

  it('login, me, sliding refresh and logout', async () => {
    await expectProblem(
      await call('POST', '/api/v1/auth/login', {
        json: { email: 'admin@example.com', password: 'wrong password' },
      }),
      401,
      'invalid_credentials',
      'Invalid credentials',
      'The email or password is incorrect.',
    );
    const body = await json(
      await call('POST', '/api/v1/auth/login', { json: { email: 'admin@example.com', password: PASSWORD } }),
      200,
    );
    const me = userBody({
      email: 'admin@example.com',
      display_name: 'Admin',
      is_admin: true,
      logged_in: true,
    });
    expect(body).toEqual({
      token: expect.any(String),
      expires_in: 86400,
      user: { ...me, user_id: s.adminId },
    });
    const token = body.token as string;
    const read = await call('GET', '/api/v1/auth/me', { token });
    expect(read.headers.get('x-refreshed-token')).toBeNull();
    expect(await json(read, 200)).toEqual(body.user);

    const renamed = await call('PATCH', '/api/v1/auth/me', { token, json: { display_name: 'Root' } });
    const refreshed = renamed.headers.get('x-refreshed-token') as string;
    expect(await json(renamed, 200)).toEqual({ ...body.user, display_name: 'Root' });
    expect(refreshed).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect((await json(await call('GET', '/api/v1/auth/me', { token: refreshed }), 200)).display_name).toBe(
      'Root',
    );

    const out = await call('POST', '/api/v1/auth/logout', { token });
    expect([out.status, out.headers.get('x-refreshed-token')]).toEqual([204, null]);
    const revoked = await call('GET', '/api/v1/auth/me', { token });
    expect(revoked.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    await expectProblem(revoked, 401, 'unauthorized', 'Unauthorized', 'The token has been revoked.');
    const anonymous = await call('GET', '/api/v1/auth/me');
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    await expectProblem(anonymous, 401, 'unauthorized', 'Unauthorized', 'A bearer token is required.');
    s.admin = await login('admin@example.com');
  });

  it('users: an admin creates, lists, updates and deletes them; a user may not', async () => {
    const created = [];
    for (const [email, name] of [
      ['alice@example.com', 'Alice'],
      ['bob@example.com', 'Bob'],
      ['carol@example.com', 'Carol'],
    ] as const) {
      const res = await call('POST', '/api/v1/users', {
        token: s.admin,
        json: { email, password: PASSWORD, display_name: name },
      });
      expect(res.headers.get('x-refreshed-token')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      const user = await json(res, 201);
      expect(user).toEqual(userBody({ email, display_name: name }));
      created.push(user);
    }
    const [alice, bob, carol] = created;
    s.aliceId = alice.user_id;
    s.bobId = bob.user_id;
    await expectProblem(
      await call('POST', '/api/v1/users', {
        token: s.admin,
        json: { email: 'ALICE@example.com', password: PASSWORD },
      }),
      409,
      'conflict',
      'Conflict',
      'A user with email alice@example.com already exists.',
    );
    const list = await json(await call('GET', '/api/v1/users', { token: s.admin }), 200);
    expect(list.map((u: { email: string }) => u.email)).toEqual([
      'admin@example.com',
      'alice@example.com',
      'bob@example.com',
      'carol@example.com',
    ]);
    expect(list.slice(1)).toEqual(created);
    expect(await json(await call('GET', `/api/v1/users/${bob.user_id}`, { token: s.admin }), 200)).toEqual(
      bob,
    );
    expect(
      await json(
        await call('PATCH', `/api/v1/users/${bob.user_id}`, { token: s.admin, json: { max_pending: 5 } }),
        200,
      ),
    ).toEqual({ ...bob, max_pending: 5 });
    expect((await call('DELETE', `/api/v1/users/${carol.user_id}`, { token: s.admin })).status).toBe(204);
    await expectProblem(
      await call('GET', `/api/v1/users/${carol.user_id}`, { token: s.admin }),
      404,
      'not_found',
      'Not found',
      `User ${carol.user_id} was not found`,
    );
    s.alice = await login('alice@example.com');
    s.bob = await login('bob@example.com');
    await expectProblem(
      await call('GET', '/api/v1/users', { token: s.alice }),
      403,
      'forbidden',
      'Forbidden',
      'This action needs an admin.',
    );
  });

  it('models', async () => {
    expect(await json(await call('GET', '/api/v1/models', { token: s.alice }), 200)).toEqual([
      {
        key: 'tiny-sd',
        name: 'Tiny SD (shapes)',
        base: 'sd-1',
        type: 'main',
        format: 'onnx',
        description: expect.stringMatching(/^Trained SD-1\.x-shaped toy model/),
      },
    ]);
  });

  it('boards: create, list, rename; another user’s board is 404', async () => {
    const board = await json(
      await call('POST', '/api/v1/boards', { token: s.alice, json: { board_name: 'Shapes' } }),
      201,
    );
    expect(board).toEqual({
      board_id: anUuid(),
      board_name: 'Shapes',
      user_id: s.aliceId,
      image_count: 0,
      cover_image_name: null,
      created_at: aTime(),
    });
    s.boardId = board.board_id;
    const renamed = await json(
      await call('PATCH', `/api/v1/boards/${board.board_id}`, {
        token: s.alice,
        json: { board_name: 'Red shapes' },
      }),
      200,
    );
    expect(renamed).toEqual({ ...board, board_name: 'Red shapes' });
    expect(await json(await call('GET', '/api/v1/boards', { token: s.alice }), 200)).toEqual([renamed]);
    expect(await json(await call('GET', '/api/v1/boards', { token: s.bob }), 200)).toEqual([]);
    await expectProblem(
      await call('GET', `/api/v1/boards/${board.board_id}/image_names`, { token: s.bob }),
      404,
      'not_found',
      'Not found',
      `Board ${board.board_id} was not found`,
    );
  });

  it('generates through the inference child: the exact events to the owner and the admins, none to another user', async () => {
    const [aliceSse, adminSse, bobSse] = await Promise.all([
      connect(s.alice),
      connect(s.admin),
      connect(s.bob),
    ]);
    expect(aliceSse.frames.slice(0, 2)).toEqual([
      { retry: 3000 },
      { event: 'connected', data: { connection_id: anUuid(), user_id: s.aliceId, is_admin: false } },
    ]);
    const graph = aliceGraph();
    const enqueued = await json(
      await call('POST', `${Q}/enqueue_batch`, { token: s.alice, json: { batch: { graph } } }),
      201,
    );
    expect(enqueued).toEqual({
      queue_id: 'default',
      batch: { batch_id: anUuid(), graph, runs: 1 },
      enqueued: 1,
      requested: 1,
      priority: 0,
      item_ids: [expect.any(Number)],
    });
    s.itemId = enqueued.item_ids[0];
    await Promise.all([
      aliceSse.until(statusIs(s.itemId, 'completed'), 'the item completed', RUN_TIMEOUT),
      adminSse.until(statusIs(s.itemId, 'completed'), 'the item completed', RUN_TIMEOUT),
      bobSse.until(
        (frames) =>
          frames.some((f) => f.event === 'queue_status' && (f.data as { completed: number }).completed === 1),
        'the queue_status after the item',
        RUN_TIMEOUT,
      ),
    ]);
    expect(trace(aliceSse.frames, s.itemId)).toEqual(textToImageTrace(2));
    // The admins' copies carry the same data. On PostgreSQL a live preview is best effort (it rides in the
    // notification; the log holds `image: null`, docs/adr/0004-channel-log.md): there it may be null.
    const comparable = (frames: SseFrame[]) =>
      itemFrames(frames, s.itemId).map((f) => [f.event, db === 'postgres' ? withoutPreview(f.data) : f.data]);
    expect(comparable(adminSse.frames)).toEqual(comparable(aliceSse.frames));
    const previews = itemFrames(aliceSse.frames, s.itemId).flatMap((f) =>
      f.event === 'invocation_progress' &&
      (f.data as { invocation: { id: string } }).invocation.id === 'denoise'
        ? [(f.data as { image: unknown }).image]
        : [],
    );
    const preview = { dataURL: expect.stringMatching(/^data:image\/jpeg;base64,/), width: 8, height: 8 };
    if (db === 'pglite') {
      expect(previews).toEqual([preview, preview]);
    } else {
      expect(previews).toEqual([expect.toBeOneOf([preview, null]), expect.toBeOneOf([preview, null])]);
    }
    const l2i = must(
      itemFrames(aliceSse.frames, s.itemId).find(
        (f) =>
          f.event === 'invocation_complete' &&
          (f.data as { invocation: { id: string } }).invocation.id === 'l2i',
      ),
      'the l2i completion',
    );
    s.imageName = (l2i.data as { result: { image: { image_name: string } } }).result.image.image_name;
    expect((l2i.data as { result: unknown }).result).toEqual({
      type: 'image_output',
      image: { image_name: expect.stringMatching(IMAGE_NAME) },
      width: 64,
      height: 64,
    });
    await bobSse.close();
    expect(new Set(bobSse.names())).toEqual(new Set(['connected', 'queue_status']));
    expect(bobSse.text).not.toContain('red circle');
    await Promise.all([aliceSse.close(), adminSse.close()]);
    s.aliceFrames = aliceSse.frames;
    // A model loaded: ready.
    expect(await json(await call('GET', '/ready'), 200)).toEqual({
      status: 'ready',
      checks: { database: true, model: true },
    });
  });

  it('replays what was missed after Last-Event-ID (header or query), and asks an unknown id to resync', async () => {
    const seen = withIds(s.aliceFrames);
    const from = seen.findIndex((f) => f.event === 'batch_enqueued');
    const lastId = seen[from]?.id as string;
    const missed = seen.slice(from + 1);
    for (const resume of [{ headers: { 'Last-Event-ID': lastId } }, { query: `&last_event_id=${lastId}` }]) {
      const sse = await connect(s.alice, resume.headers, resume.query);
      await sse.until(statusIs(s.itemId, 'completed'), 'the replayed completion');
      await sse.close();
      expect(withIds(sse.frames)).toEqual(missed);
    }
    const unknown = await connect(s.alice, { 'Last-Event-ID': 'not-an-id' });
    await unknown.untilEvent('resync');
    await unknown.close();
    expect(unknown.frames.slice(1, 3)).toEqual([
      { event: 'connected', data: { connection_id: anUuid(), user_id: s.aliceId, is_admin: false } },
      { event: 'resync', data: { reason: 'history_unavailable' } },
    ]);
  });

  it('the queue: the item, redacted for another user, lists, status, pause, cancel, resume', async () => {
    const item = await json(await call('GET', `${Q}/i/${s.itemId}`, { token: s.alice }), 200);
    expect(item).toEqual({
      item_id: s.itemId,
      queue_id: 'default',
      batch_id: anUuid(),
      session_id: anUuid(),
      status: 'completed',
      priority: 0,
      origin: null,
      destination: null,
      field_values: null,
      session: { id: item.session_id, graph: aliceGraph() },
      workflow: null,
      error_type: null,
      error_message: null,
      error_traceback: null,
      created_at: aTime(),
      updated_at: aTime(),
      started_at: aTime(),
      completed_at: aTime(),
      retried_from_item_id: null,
      worker_id: expect.stringMatching(/\/0:cpu$/),
      device: 'cpu',
      user_id: s.aliceId,
      user_display_name: 'Alice',
      user_email: 'alice@example.com',
      redacted: false,
    });
    expect(await json(await call('GET', `${Q}/i/${s.itemId}`, { token: s.bob }), 200)).toEqual({
      ...item,
      batch_id: null,
      session_id: null,
      session: null,
      retried_from_item_id: null,
      user_email: null,
      redacted: true,
    });
    expect(await json(await call('GET', `${Q}/list?user=me`, { token: s.alice }), 200)).toEqual({
      items: [item],
      has_more: false,
      next_cursor: null,
    });
    const counts = { pending: 0, in_progress: 0, completed: 1, failed: 0, canceled: 0, total: 1 };
    expect(await json(await call('GET', `${Q}/status`, { token: s.alice }), 200)).toEqual({
      queue: { queue_id: 'default', item_id: null, ...counts },
      mine: counts,
      processor: { is_started: true, is_processing: false },
    });

    await expectProblem(
      await call('PUT', `${Q}/processor/pause`, { token: s.bob }),
      403,
      'forbidden',
      'Forbidden',
      'This action needs an admin.',
    );
    expect(await json(await call('PUT', `${Q}/processor/pause`, { token: s.admin }), 200)).toEqual({
      is_started: false,
      is_processing: false,
    });
    const bobs = await json(
      await call('POST', `${Q}/enqueue_batch`, {
        token: s.bob,
        json: { batch: { graph: textToImageGraph({ seed: 9, steps: 2 }) }, prepend: true },
      }),
      201,
    );
    expect([bobs.enqueued, bobs.priority]).toEqual([1, 1]);
    const bobItem = bobs.item_ids[0] as number;
    expect((await json(await call('GET', `${Q}/i/${bobItem}`, { token: s.bob }), 200)).status).toBe(
      'pending',
    );
    await expectProblem(
      await call('PUT', `${Q}/i/${bobItem}/cancel`, { token: s.alice }),
      403,
      'forbidden',
      'Forbidden',
      `Queue item ${bobItem} belongs to another user.`,
    );
    const canceled = await json(await call('PUT', `${Q}/i/${bobItem}/cancel`, { token: s.bob }), 200);
    expect([canceled.item_id, canceled.status, canceled.priority, canceled.user_id]).toEqual([
      bobItem,
      'canceled',
      1,
      s.bobId,
    ]);
    expect(await json(await call('PUT', `${Q}/processor/resume`, { token: s.admin }), 200)).toEqual({
      is_started: true,
      is_processing: false,
    });
    await expectProblem(
      await call('POST', `${Q}/enqueue_batch`, {
        token: s.bob,
        json: { batch: { graph: textToImageGraph({ model: 'no-such-model' }) } },
      }),
      422,
      'validation_failed',
      'Validation failed',
      'The request does not match the schema.',
      [{ path: 'batch.graph.nodes.model.model', message: 'unknown model "no-such-model"' }],
    );
    await expectProblem(
      await call('POST', `${Q}/enqueue_batch`, {
        token: s.bob,
        body: '{"batch":',
        headers: { 'Content-Type': 'application/json' },
      }),
      400,
      'bad_request',
      'Bad request',
      'Malformed JSON in request body',
    );
  });

  it('images: the generated PNG with its metadata, its thumbnail, signed URLs; an upload round-trips', async () => {
    const page = await json(
      await call('GET', `/api/v1/images?board_id=${s.boardId}`, { token: s.alice }),
      200,
    );
    const dto = {
      image_name: s.imageName,
      image_url: expect.stringMatching(
        /^\/api\/v1\/images\/i\/[0-9a-f-]{36}\.png\/full\?exp=\d+&sig=[\w-]{43}$/,
      ),
      thumbnail_url: expect.stringMatching(
        /^\/api\/v1\/images\/i\/[0-9a-f-]{36}\.png\/thumbnail\?exp=\d+&sig=[\w-]{43}$/,
      ),
      width: 64,
      height: 64,
      board_id: s.boardId,
      user_id: s.aliceId,
      queue_item_id: s.itemId,
      session_id: anUuid(),
      node_id: 'l2i',
      is_intermediate: false,
      starred: false,
      metadata: {
        model: 'tiny-sd',
        prompt: 'a red circle on a blue background',
        negative_prompt: '',
        seed: 7,
        steps: 2,
        cfg_scale: 7.5,
        scheduler: 'euler',
        width: 64,
        height: 64,
      },
      created_at: aTime(),
    };
    expect(page).toEqual({ items: [dto], offset: 0, limit: 50, total: 1 });
    const image = page.items[0];

    const full = await call('GET', `/api/v1/images/i/${s.imageName}/full`, { token: s.alice });
    expect([full.status, full.headers.get('content-type')]).toEqual([200, 'image/png']);
    const png = new Uint8Array(await full.arrayBuffer());
    expect(JSON.parse(readPngText(png).invokeai_metadata as string)).toEqual(image.metadata);
    const decoded = await sharp(png).metadata();
    expect([decoded.format, decoded.width, decoded.height]).toEqual(['png', 64, 64]);
    const thumb = await call('GET', `/api/v1/images/i/${s.imageName}/thumbnail`, { token: s.alice });
    expect([thumb.status, thumb.headers.get('content-type')]).toEqual([200, 'image/webp']);
    const small = await sharp(new Uint8Array(await thumb.arrayBuffer())).metadata();
    expect([small.format, small.width, small.height]).toEqual(['webp', 64, 64]);

    // Signed URLs work without a header (an <img> tag); a tampered one does not.
    const signed = await call('GET', image.image_url);
    expect(signed.status).toBe(200);
    expect(new Uint8Array(await signed.arrayBuffer())).toEqual(png);
    const sig = new URL(image.image_url, server().url).searchParams.get('sig') as string;
    await expectProblem(
      await call('GET', image.image_url.replace(sig, `${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`)),
      401,
      'unauthorized',
      'Unauthorized',
      'A bearer token or a valid signed URL is required.',
    );
    await expectProblem(
      await call('GET', `/api/v1/images/i/${s.imageName}`, { token: s.bob }),
      404,
      'not_found',
      'Not found',
      `Image ${s.imageName} was not found`,
    );
    expect(await json(await call('GET', '/api/v1/boards', { token: s.alice }), 200)).toEqual([
      {
        board_id: s.boardId,
        board_name: 'Red shapes',
        user_id: s.aliceId,
        image_count: 1,
        cover_image_name: s.imageName,
        created_at: aTime(),
      },
    ]);

    // An upload is decoded and stored as PNG: the pixels come back exactly.
    const form = new FormData();
    form.append(
      'file',
      new Blob([(await imageFile('png', 32, 24)) as Uint8Array<ArrayBuffer>], { type: 'image/png' }),
      'x.png',
    );
    const up = await json(await call('POST', '/api/v1/images/upload', { token: s.bob, body: form }), 201);
    expect(up).toEqual({
      ...dto,
      image_name: expect.stringMatching(IMAGE_NAME),
      width: 32,
      height: 24,
      board_id: null,
      user_id: s.bobId,
      queue_item_id: null,
      session_id: null,
      node_id: null,
      metadata: null,
    });
    const stored = await call('GET', `/api/v1/images/i/${up.image_name}/full`, { token: s.bob });
    const raw = await sharp(new Uint8Array(await stored.arrayBuffer()))
      .raw()
      .toBuffer();
    expect(new Uint8Array(raw)).toEqual(pixels(32, 24));
    const text = new FormData();
    text.append('file', new Blob(['hello'], { type: 'text/plain' }), 'x.txt');
    await expectProblem(
      await call('POST', '/api/v1/images/upload', { token: s.bob, body: text }),
      415,
      'unsupported_media_type',
      'Unsupported media type',
      'Only PNG, JPEG and WebP images can be uploaded.',
    );
    expect((await call('DELETE', `/api/v1/images/i/${up.image_name}`, { token: s.bob })).status).toBe(204);
    await expectProblem(
      await call('GET', `/api/v1/images/i/${up.image_name}/full`, { token: s.bob }),
      404,
      'not_found',
      'Not found',
      `Image ${up.image_name} was not found`,
    );
  });

  it('errors are problem+json; the web UI and the API reference are served', async ({ version }) => {
    await expectProblem(
      await call('GET', '/api/v1/nothing-here', { token: s.alice }),
      404,
      'not_found',
      'Not found',
      'No route for GET /api/v1/nothing-here.',
    );
    const anonymous = await call('GET', '/api/v1/nothing-here');
    await expectProblem(anonymous, 401, 'unauthorized', 'Unauthorized', 'A bearer token is required.');
    const wrongMethod = await call('DELETE', '/api/v1/models', { token: s.alice });
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD');
    await expectProblem(
      wrongMethod,
      405,
      'method_not_allowed',
      'Method not allowed',
      '/api/v1/models does not answer DELETE.',
    );

    const page = await call('GET', '/', { headers: { Accept: 'text/html' } });
    expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await page.text()).toBe(await readFile(join(projectRoot, 'web', 'index.html'), 'utf8'));
    const script = await call('GET', '/assets/main.js');
    expect([script.status, script.headers.get('content-type')]).toEqual([
      200,
      'text/javascript; charset=utf-8',
    ]);
    expect(await script.text()).toBe(await readFile(join(projectRoot, 'web', 'main.js'), 'utf8'));
    expect((await call('GET', '/vendor/preact.js')).status).toBe(200);
    const docs = await call('GET', '/docs');
    expect([docs.status, docs.headers.get('content-type')]).toEqual([200, 'text/html; charset=UTF-8']);
    expect(docs.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect((await json(await call('GET', '/openapi.json'), 200)).info.version).toBe(version);
  });

  it('workers: the one worker of DEVICES=cpu, idle after its item; admins only', async () => {
    const workers = await json(await call('GET', '/api/v1/workers', { token: s.admin }), 200);
    // NODE_ID defaults to the host name and the process id; the worker is its first DEVICES entry.
    const nodeId = workers[0]?.node_id;
    expect(nodeId).toMatch(/^.+\.\d+$/);
    expect(workers).toEqual([
      {
        worker_id: `${nodeId}/0:cpu`,
        node_id: nodeId,
        device: 'cpu',
        state: 'idle',
        item_id: null,
        last_seen_at: aTime(),
      },
    ]);
    await expectProblem(
      await call('GET', '/api/v1/workers', { token: s.bob }),
      403,
      'forbidden',
      'Forbidden',
      'This action needs an admin.',
    );
  });

  it('stops on SIGTERM with exit code 0', async () => {
    expect(await server().stop()).toBe(0);
  });
});
