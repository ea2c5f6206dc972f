import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_ADMIN_URL } from '../helpers/database.ts';
import { textToImageGraph } from '../helpers/graphs.ts';
import type { SseReader } from '../helpers/sse.ts';
import { api, connect, enqueue, kill, ok, Q, Scratch, statusIs, untilOutput } from './process-api.ts';
import { childEnv, freePort, projectRoot, type RunningServer, startServer } from './spawn.ts';
import { TcpProxy } from './tcp-proxy.ts';

// Issue 13, fault 8 (API.md section 1): the database going away while items run. The server reaches
// PostgreSQL through a TCP proxy that the test cuts (every connection reset, new ones refused), as a restart
// would, and then restores. Not a restart of the real PostgreSQL: every other suite of the run shares it.
const JWT_SECRET = 'database-outage-test-secret-0123456789abcdef';
const ADMIN = { email: 'admin@example.com', password: 'correct horse battery' };
/** A wait on a start or a run: only turns a missing event into a readable failure. */
const WAIT = 60_000;
const ITEMS = 4;

describe('PostgreSQL away while items run', { timeout: 2 * WAIT }, () => {
  let scratch: Scratch;
  let proxy: TcpProxy;
  let server: RunningServer;
  let adminStream: SseReader;

  beforeAll(async () => {
    scratch = await Scratch.create(JWT_SECRET, 'o');
    proxy = await TcpProxy.start(Number(new URL(PG_ADMIN_URL).port || 5432));
    const viaProxy = new URL(scratch.url);
    viaProxy.port = String(proxy.port);
    server = await startServer(
      process.execPath,
      ['--import', 'tsx', 'src/main.node.ts'],
      childEnv({
        HOST: '127.0.0.1',
        PORT: String(await freePort()),
        DATA_DIR: scratch.root,
        MODELS_DIR: join(projectRoot, 'models'),
        DATABASE_URL: viaProxy.toString(),
        JWT_SECRET,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        LOG_LEVEL: 'warn',
      }),
      WAIT,
    );
    adminStream = await connect(server, (await scratch.tokenFor(ADMIN.email)).token);
  }, 2 * WAIT);

  afterAll(async () => {
    await adminStream?.close();
    if (server) {
      await kill(server);
    }
    await proxy?.close();
    await scratch?.drop();
  });

  it('answers 503 with Retry-After while it is away, and finishes every item with one image once it is back', async () => {
    const adminToken = (await scratch.tokenFor(ADMIN.email)).token;
    await ok(
      api(server, 'POST', '/api/v1/users', adminToken, {
        email: 'alice@example.com',
        password: 'x'.repeat(8),
      }),
      201,
    );
    const alice = await scratch.tokenFor('alice@example.com');
    const { item_ids } = await enqueue(
      server,
      alice.token,
      textToImageGraph({ steps: 30, width: 64, height: 64, seed: 3 }),
      ITEMS,
    );
    // The model is loaded once the first item is done (`/ready` would name it otherwise); the next one runs.
    await adminStream.until(statusIs(item_ids[0] as number, 'completed'), 'the first item completed', WAIT);
    await adminStream.until(statusIs(item_ids[1] as number, 'in_progress'), 'the second item started', WAIT);

    await proxy.cut();
    const list = await api(server, 'GET', `${Q}/list`, alice.token);
    expect([list.status, list.headers.get('retry-after'), list.headers.get('content-type')]).toEqual([
      503,
      '5',
      'application/problem+json',
    ]);
    expect(await list.json()).toEqual({
      type: '/docs#error-unavailable',
      title: 'Service unavailable',
      status: 503,
      code: 'unavailable',
      detail: 'The database is unavailable; try again shortly.',
      request_id: list.headers.get('x-request-id'),
    });
    const notReady = await api(server, 'GET', '/ready');
    expect(notReady.status).toBe(503);
    expect((await notReady.json()).detail).toBe('Not ready: database.');
    // The worker reached a write it must not lose (an image, an outcome, its registry row) while the database
    // was away: it waits for the database rather than failing the item or leaving it in progress.
    await untilOutput(server, /database unavailable: will /, WAIT);
    await proxy.restore();

    try {
      for (const id of item_ids) {
        await adminStream.until(statusIs(id, 'completed'), `item ${id} completed`, WAIT);
      }
    } catch (error) {
      // A stall here is a real fault: say what the server and the database saw.
      const items = await scratch.db`SELECT item_id, status, worker_id FROM session_queue ORDER BY item_id`;
      const logged = await scratch.db`SELECT user_id, max(id)::int AS last_id, count(*)::int AS n
        FROM channel_log GROUP BY user_id`;
      throw new Error(
        `${(error as Error).message}\nitems: ${JSON.stringify(items)}\nlog: ${JSON.stringify(logged)}` +
          `\nserver output:\n${(server.output.stdout + server.output.stderr).slice(-6000)}`,
      );
    }
    const rows = await scratch.db`SELECT q.item_id, q.status, q.error_type, q.interruptions,
        (SELECT count(*)::int FROM images i WHERE i.queue_item_id = q.item_id) AS images
      FROM session_queue q WHERE q.item_id = ANY(${item_ids}) ORDER BY q.item_id`;
    expect(rows.map((r) => [r.item_id, r.status, r.error_type, r.interruptions, r.images])).toEqual(
      item_ids.map((id) => [id, 'completed', null, 0, 1]),
    );
    expect(await ok(api(server, 'GET', '/ready'))).toEqual({
      status: 'ready',
      checks: { database: true, model: true },
    });
    const listed = await ok<{ items: { item_id: number }[] }>(api(server, 'GET', `${Q}/list`, alice.token));
    expect(listed.items.map((i) => i.item_id).sort((x, y) => x - y)).toEqual(item_ids);
    // Nothing answered 500 and no outcome was given up on; the log names no statement.
    const log = server.output.stdout + server.output.stderr;
    expect(log).not.toMatch(/"status":500|could not record|unhandled error|SELECT|INSERT|UPDATE/);
  });
});
