import { sql } from 'drizzle-orm';
import { expect, type TestContext } from 'vitest';
import { createApp, type EaselApp } from '../../src/app.ts';
import { ChannelHub, type ChannelHubOptions } from '../../src/channels/hub.ts';
import { RevocationRelay } from '../../src/channels/revocations.ts';
import { sharedTicketStore } from '../../src/channels/shared-tickets.ts';
import type { Clock } from '../../src/core/clock.ts';
import { createJsonLogger } from '../../src/core/logger.ts';
import type { ModelInfo } from '../../src/core/models.ts';
import type { Database } from '../../src/db/types.ts';
import { type AppConfig, type AppDeps, contextFromDeps } from '../../src/deps.ts';
import { HttpMetrics } from '../../src/http/metrics.ts';
import { readableSinks } from '../../src/http/readable-sink.ts';
import { DbBlobStore } from '../../src/images/db-blob-store.ts';
import { MemoryBlobStore } from '../../src/images/memory-blob-store.ts';
import { createUrlSigner } from '../../src/images/url-signer.ts';
import { staticCatalog } from '../../src/models/catalog.ts';
import { sharpCodec } from '../../src/node/sharp-images.ts';
import { queueStatusCounts } from '../../src/queue/status-counts.ts';
import { IdentityCache } from '../../src/services/auth/identity-cache.ts';
import { pbkdf2Hasher } from '../../src/services/auth/passwords.ts';
import { databaseLoginLimiter } from '../../src/services/auth/shared-login-limiter.ts';
import { hs256Tokens } from '../../src/services/auth/tokens.ts';
import { createUser, type User } from '../../src/services/users/index.ts';
import { FakeWorkers } from '../../src/worker/fake.ts';
import { testNotifier } from './cluster.ts';
import { openTestDatabase } from './database.ts';
import { EventRecorder } from './event-recorder.ts';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';
export const TEST_PASSWORD = 'correct horse battery';
export const TINY_MODEL: ModelInfo = {
  key: 'tiny-sd',
  name: 'Tiny SD',
  base: 'sd-1',
  type: 'main',
  format: 'onnx',
  description: 'test model',
};

/** A clock tests move by hand. */
export class FakeClock implements Clock {
  #t = Date.now();
  now = () => new Date(this.#t);
  advance(ms: number) {
    this.#t += ms;
  }
}

export interface TestUser {
  user: User;
  token: string;
  password: string;
}

export interface RequestOptions {
  token?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

export interface HarnessOptions {
  config?: Partial<Omit<AppConfig, 'queue'>> & { queue?: Partial<AppConfig['queue']> };
  /** Replaces deps, e.g. a readiness check that throws. */
  deps?: Partial<Omit<AppDeps, 'config' | 'db' | 'clock'>>;
  /** Channel hub settings (replay limits, queue bound, intervals). */
  hub?: Partial<Omit<ChannelHubOptions, 'clock' | 'logger'>>;
  /**
   * The database to run on (closed by the harness) instead of a fresh one: a second app on the same
   * database, as a second process would be (its own connection, notifier and hub).
   */
  database?: Database;
  /** `postgres`: image bytes in the database (`BLOB_STORE=postgres`) instead of the in-memory store. */
  blobStore?: 'memory' | 'postgres';
  /**
   * Events through the channel log (as the server runs), with the database's notifier; the default is
   * EASEL_TEST_CHANNEL_LOG=1, else the in-memory hub.
   */
  channelLog?: boolean;
}

/**
 * One app on its own fresh database, with a fake clock, captured logs and fixture builders. Given the test's
 * context it is that test's own and closes when the test finishes (STYLE.md rule 20); without one the caller
 * closes it (a harness shared by a file's tests).
 * @example it('…', async ({ onTestFinished }) => { const h = await createHarness({ onTestFinished }, { config: { queue: { maxSize: 4 } } }); });
 * @example const test = harnessTest(opts); // a file's shared harness: tests/helpers/fixtures.ts
 */
export async function createHarness(
  t: Pick<TestContext, 'onTestFinished'>,
  opts?: HarnessOptions,
): Promise<Harness>;
export async function createHarness(opts?: HarnessOptions): Promise<Harness>;
export async function createHarness(
  first?: Pick<TestContext, 'onTestFinished'> | HarnessOptions,
  second?: HarnessOptions,
): Promise<Harness> {
  if (first && 'onTestFinished' in first) {
    const h = await buildHarness(second);
    first.onTestFinished(() => h.close());
    return h;
  }
  return buildHarness(first);
}

async function buildHarness(opts: HarnessOptions = {}) {
  const database: Database = opts.database ?? (await openTestDatabase());
  const clock = new FakeClock();
  const logs: Record<string, unknown>[] = [];
  let seq = 0;
  const channels = new ChannelHub({
    clock,
    logger: createJsonLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line)) }),
    loadQueueStatus: (queueId) => queueStatusCounts(database.db, queueId),
    ...((opts.channelLog ?? process.env.EASEL_TEST_CHANNEL_LOG === '1')
      ? { log: { db: database.db, notifier: testNotifier(database), pruneIntervalMs: 0 } }
      : {}),
    ...opts.hub,
  });
  // Revocations reach the other apps on the same database, as they reach other processes.
  const revocations = database.notifier
    ? new RevocationRelay({
        hub: channels,
        notifier: database.notifier,
        db: database.db,
        logger: createJsonLogger({ level: 'error' }),
      })
    : undefined;
  await revocations?.start();
  await channels.start();
  const events = new EventRecorder();
  channels.observe((e) => events.record(e));
  const workers = new FakeWorkers({ db: database.db, clock });
  const blobs = new MemoryBlobStore();
  const deps: AppDeps = {
    config: {
      version: '0.0.0-test',
      authMode: 'multiuser',
      corsOrigins: [],
      userMaxPending: 1000,
      ...opts.config,
      queue: { fairness: 'round_robin', maxSize: 10_000, ...opts.config?.queue },
    },
    db: database.db,
    clock,
    logger: createJsonLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line)) }),
    passwords: pbkdf2Hasher(1000),
    tokens: hs256Tokens(new TextEncoder().encode(TEST_SECRET), clock),
    identities: new IdentityCache(database.db),
    loginLimiter: databaseLoginLimiter(database.db, clock),
    metrics: new HttpMetrics(),
    channels,
    streamSinks: readableSinks,
    revocations,
    tickets: sharedTicketStore(database.db, clock),
    images: sharpCodec(),
    blobs: opts.blobStore === 'postgres' ? new DbBlobStore(database.db) : blobs,
    urlSigner: createUrlSigner(new TextEncoder().encode(TEST_SECRET)),
    workers,
    models: staticCatalog([TINY_MODEL]),
    readiness: () => ({ ready: true, checks: { database: true } }),
    clientAddress: (c) => c.req.header('x-test-client') ?? 'test-client',
    ...opts.deps,
  };
  const app: EaselApp = createApp(deps);

  async function request(method: string, path: string, o: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) {
      headers.Authorization = `Bearer ${o.token}`;
    }
    let body = o.body;
    if (o.json !== undefined) {
      headers['Content-Type'] ??= 'application/json';
      body = JSON.stringify(o.json);
    }
    return app.request(path, { method, headers, body });
  }

  /** A user with a token; unique email unless given. */
  async function createTestUser(
    o: {
      email?: string;
      isAdmin?: boolean;
      displayName?: string;
      password?: string;
      rememberMe?: boolean;
    } = {},
  ): Promise<TestUser> {
    seq++;
    const password = o.password ?? TEST_PASSWORD;
    const user = await createUser({
      ctx: contextFromDeps(deps, `fixture-${seq}`, null),
      input: {
        email: o.email ?? `user${seq}-${crypto.randomUUID().slice(0, 8)}@example.com`,
        password,
        display_name: o.displayName,
        is_admin: o.isAdmin ?? false,
      },
    });
    const { token } = await deps.tokens.issue(
      { userId: user.user_id, email: user.email, isAdmin: user.is_admin, epoch: 0 },
      o.rememberMe ?? false,
    );
    return { user, token, password };
  }

  return {
    app,
    deps,
    db: database.db,
    driver: database.driver,
    clock,
    logs,
    events,
    channels,
    workers,
    blobs,
    request,
    get: (path: string, o?: RequestOptions) => request('GET', path, o),
    post: (path: string, o?: RequestOptions) => request('POST', path, o),
    patch: (path: string, o?: RequestOptions) => request('PATCH', path, o),
    put: (path: string, o?: RequestOptions) => request('PUT', path, o),
    delete: (path: string, o?: RequestOptions) => request('DELETE', path, o),
    createUser: createTestUser,
    /** Empties every table but keeps the `system` user, for tests that need a database with no account. */
    async reset() {
      await database.db.execute(sql`TRUNCATE audit_log, revoked_sessions, login_failures, sse_tickets`);
      await database.db.execute(sql`DELETE FROM users WHERE user_id <> 'system'`);
    },
    revocations,
    async close() {
      await revocations?.stop();
      await channels.shutdown();
      await database.close();
    },
  };
}

export type Harness = Awaited<ReturnType<typeof buildHarness>>;

/** The problem body every error test compares against, with the response's own request id. */
export function problem(
  res: Response,
  code: string,
  status: number,
  title: string,
  detail: string,
  errors?: { path: string; message: string }[],
) {
  return {
    type: `/docs#error-${code}`,
    title,
    status,
    detail,
    code,
    request_id: res.headers.get('x-request-id'),
    ...(errors ? { errors } : {}),
  };
}

/**
 * Checks that a response is the problem+json error described, whole (see `problem`).
 * @example await expectProblem(res, 'not_found', 404, 'Not found', 'Image x.png was not found');
 */
export async function expectProblem(
  res: Response,
  code: string,
  status: number,
  title: string,
  detail: string,
  errors?: { path: string; message: string }[],
) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(await res.json()).toEqual(problem(res, code, status, title, detail, errors));
}
