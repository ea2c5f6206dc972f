import { ChannelHub, type ChannelHubOptions } from './channels/hub.ts';
import { RevocationRelay } from './channels/revocations.ts';
import { sharedTicketStore } from './channels/shared-tickets.ts';
import { systemClock } from './core/clock.ts';
import type { BlobStore, ImageCodec } from './core/images.ts';
import type { Logger } from './core/logger.ts';
import type { ModelCatalog, ModelInfo } from './core/models.ts';
import type { Notifier } from './core/notifier.ts';
import { migrate, readMigrations } from './db/migrate.ts';
import { databaseAnswers } from './db/ping.ts';
import type { Database } from './db/types.ts';
import { type AppDeps, contextFromDeps, type Readiness } from './deps.ts';
import { type Env, EnvError } from './env.ts';
import { HttpMetrics } from './http/metrics.ts';
import type { StreamSinks } from './http/stream-sinks.ts';
import { createUrlSigner } from './images/url-signer.ts';
import { staticCatalog } from './models/catalog.ts';
import { queueStatusCounts } from './queue/status-counts.ts';
import type { InferenceRuntime } from './runtime/interface.ts';
import { bootstrapAdmin } from './services/auth/bootstrap-admin.ts';
import { boundedHasher, type HashBounds } from './services/auth/bounded-hasher.ts';
import { IdentityCache } from './services/auth/identity-cache.ts';
import { type DeriveBits, PBKDF2_MIN_ITERATIONS, pbkdf2Hasher } from './services/auth/passwords.ts';
import { databaseLoginLimiter } from './services/auth/shared-login-limiter.ts';
import { hs256Tokens } from './services/auth/tokens.ts';
import { IdleWorkers } from './worker/idle.ts';
import { WorkerPool, type WorkerSpec } from './worker/pool.ts';
import { LeaseSweeper } from './worker/sweep.ts';

/** The file access each runtime entry gives the portable boot code. */
export interface BootFiles {
  /** Reads a text file (a relative path is from the working directory). */
  readText(path: string): Promise<string>;
  /** Creates a file that must not exist yet, readable by the owner only. */
  createPrivate(path: string, text: string): Promise<void>;
  /** The sub-folders of a folder; throws when it does not exist. */
  listFolders(path: string): Promise<string[]>;
  isNotFound(err: unknown): boolean;
}

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');

/**
 * The JWT secret: `JWT_SECRET` when set, else the one kept in `DATA_DIR/jwt-secret`, generated (48 random
 * bytes, base64url, mode 0600) on first start. With `persist` false, a random one for this process.
 */
export async function loadJwtSecret(files: BootFiles, env: Env, persist = true): Promise<string> {
  if (env.JWT_SECRET) {
    return env.JWT_SECRET;
  }
  const fresh = base64url(crypto.getRandomValues(new Uint8Array(48)));
  if (!persist) {
    return fresh;
  }
  const file = `${env.DATA_DIR}/jwt-secret`;
  let kept: string | undefined;
  try {
    kept = (await files.readText(file)).trim();
  } catch (err) {
    if (!files.isNotFound(err)) {
      throw err;
    }
  }
  if (kept !== undefined) {
    // The same floor as JWT_SECRET: a short key is forgeable, an empty one signs nothing.
    if (new TextEncoder().encode(kept).length < 32) {
      throw new EnvError(
        `${file} holds a JWT secret shorter than 32 bytes; delete the file to generate a new one (every token becomes invalid) or set JWT_SECRET`,
      );
    }
    return kept;
  }
  await files.createPrivate(file, `${fresh}\n`);
  return fresh;
}

type ModelMeta = Partial<Record<'key' | 'name' | 'base' | 'description', string>>;

/** A folder's `model.json`, or, for an exported Stable Diffusion folder without one, its `model_index.json`. */
async function readModelMeta(files: BootFiles, folder: string): Promise<ModelMeta> {
  try {
    return JSON.parse(await files.readText(`${folder}/model.json`)) as ModelMeta;
  } catch (err) {
    if (!files.isNotFound(err)) {
      throw err;
    }
  }
  // An exported folder: its model_index.json must exist and parse; the catalog's fields take their defaults.
  JSON.parse(await files.readText(`${folder}/model_index.json`));
  return {};
}

/**
 * One model per `MODELS_DIR/<folder>` holding a `model.json` (or an exported folder's `model_index.json`);
 * the key defaults to the folder name. A missing directory gives an empty catalog; a folder whose
 * description cannot be read is logged and skipped.
 */
export async function readModelCatalog(
  files: BootFiles,
  modelsDir: string,
  logger: Logger,
): Promise<ModelCatalog> {
  let folders: string[];
  try {
    folders = await files.listFolders(modelsDir);
  } catch {
    logger.warn('models directory not found', { models_dir: modelsDir });
    return staticCatalog([]);
  }
  const models: ModelInfo[] = [];
  const paths: Record<string, string> = {};
  for (const folder of folders.sort()) {
    try {
      const meta = await readModelMeta(files, `${modelsDir}/${folder}`);
      const key = meta.key ?? folder;
      models.push({
        key,
        name: meta.name ?? folder,
        base: meta.base ?? 'sd-1',
        type: 'main',
        format: 'onnx',
        description: meta.description ?? '',
      });
      paths[key] = `${modelsDir}/${folder}`;
    } catch (err) {
      logger.warn('skipping model folder', { folder, error: (err as Error).message });
    }
  }
  return staticCatalog(models, paths);
}

/** How long the server holds a refused login's answer (429, 503): a flood's connections then wait too. */
export const LOGIN_REFUSAL_DELAY_MS = 1000;

/**
 * What both entries do after opening the database: apply the migrations, load the secret and the models,
 * build the deps, and create the `ADMIN_EMAIL` admin when no account exists.
 */
export async function buildDeps(opts: {
  env: Env;
  database: Database;
  files: BootFiles;
  logger: Logger;
  clientAddress: AppDeps['clientAddress'];
  /** The runtime's image codec and blob store. */
  images: ImageCodec;
  blobs: BlobStore;
  /** How event streams reach clients on this runtime. */
  streamSinks: StreamSinks;
  /**
   * LISTEN/NOTIFY on `database`: with it, every channel event goes through the channel log (the same ids on
   * every process, `Last-Event-ID` replay across processes and restarts; docs/adr/0004-channel-log.md), and
   * idle workers hear of queue changes from every process at once.
   */
  notifier?: Notifier;
  /** Channel hub settings besides its clock, logger and queue counts (the benchmark's). */
  hub?: Omit<Partial<ChannelHubOptions>, 'clock' | 'logger' | 'loadQueueStatus'>;
  /** The folder holding package.json and drizzle/, ending with a slash. */
  projectRoot: string;
  persistSecret?: boolean;
  /** The JWT secret when the entry loaded it already (`loadJwtSecret`, before opening the database). */
  secret?: string;
  /**
   * Runs the models; with one, a `WorkerPool` processes the queue (start it with `startWorkers` once the
   * server listens), without one the queue is kept but nothing runs. `workers`: one per `DEVICES` entry.
   */
  runtime?: InferenceRuntime;
  workers?: WorkerSpec[];
  /**
   * How this runtime derives password keys, and the threads it gives them (the `PASSWORD_HASH_THREADS`
   * default); without it, Web Crypto with one derivation at a time.
   */
  derive?: { derive: DeriveBits; threads: number };
}): Promise<{ deps: AppDeps; pool: WorkerPool | null }> {
  const { env, database, files, logger, projectRoot } = opts;
  const specs = opts.workers ?? (opts.runtime ? [{ device: 'cpu', runtime: opts.runtime }] : []);
  const runtimes = specs.map((w) => w.runtime);
  // The secret first: a bad secret file stops the start before the migrations' work.
  const secret = opts.secret ?? (await loadJwtSecret(files, env, opts.persistSecret ?? true));
  const migrations = await readMigrations((p) => files.readText(`${projectRoot}drizzle/${p}`));
  const applied = await migrate(database.db, migrations);
  logger.info('database ready', { driver: database.driver, migrations_applied: applied });
  const pkg = JSON.parse(await files.readText(`${projectRoot}package.json`)) as { version: string };
  const clock = systemClock;
  const channels = new ChannelHub({
    clock,
    logger,
    loadQueueStatus: (queueId) => queueStatusCounts(database.db, queueId),
    ...(opts.notifier ? { log: { db: database.db, notifier: opts.notifier } } : {}),
    ...opts.hub,
  });
  // Revocations end streams on every process sharing the database (API.md section 8).
  const revocations = database.notifier
    ? new RevocationRelay({ hub: channels, notifier: database.notifier, db: database.db, logger })
    : undefined;
  await revocations?.start();
  await channels.start();
  const shared = { db: database.db, clock, logger, leaseSeconds: env.LEASE_SECONDS };
  const pool =
    specs.length > 0 && env.ROLE !== 'api'
      ? new WorkerPool({
          ...shared,
          workers: specs,
          fairness: env.QUEUE_FAIRNESS,
          nodeId: env.NODE_ID ?? 'local',
          notifier: opts.notifier,
          // PGlite is one process: whatever is in progress at start was left by a crash.
          recoverAll: database.driver === 'pglite',
        })
      : null;
  const deps: AppDeps = {
    config: {
      version: pkg.version,
      authMode: env.AUTH_MODE,
      corsOrigins: env.CORS_ORIGINS ?? [],
      userMaxPending: env.USER_MAX_PENDING,
      queue: { fairness: env.QUEUE_FAIRNESS, maxSize: env.QUEUE_MAX_SIZE },
      loginRefusalDelayMs: LOGIN_REFUSAL_DELAY_MS,
    },
    db: database.db,
    clock,
    logger,
    passwords: boundedHasher(
      pbkdf2Hasher(PBKDF2_MIN_ITERATIONS, opts.derive?.derive),
      hashBounds(env, opts.derive?.threads ?? 1),
    ),
    tokens: hs256Tokens(new TextEncoder().encode(secret), clock),
    identities: new IdentityCache(database.db),
    loginLimiter: databaseLoginLimiter(database.db, clock),
    metrics: new HttpMetrics(),
    channels,
    streamSinks: opts.streamSinks,
    revocations,
    tickets: sharedTicketStore(database.db, clock),
    images: opts.images,
    blobs: opts.blobs,
    urlSigner: createUrlSigner(new TextEncoder().encode(secret)),
    workers: pool ?? new IdleWorkers(shared),
    models: await readModelCatalog(files, env.MODELS_DIR, logger),
    readiness: async (): Promise<Readiness> => {
      const reachable = await databaseAnswers(database.db);
      if (env.ROLE === 'api') {
        return { ready: reachable, checks: { database: reachable } };
      }
      const model = runtimes.length > 0 && runtimes.every((r) => r.modelLoaded);
      return { ready: reachable && model, checks: { database: reachable, model } };
    },
    clientAddress: opts.clientAddress,
  };
  if (env.ADMIN_EMAIL && env.ADMIN_PASSWORD) {
    const admin = await bootstrapAdmin({
      ctx: contextFromDeps(deps, 'startup', null),
      input: { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD },
    });
    if (admin) {
      logger.info('admin created from ADMIN_EMAIL', { user_id: admin.user_id, email: admin.email });
    }
  }
  return { deps, pool };
}

/**
 * The password hasher's bounds: `PASSWORD_HASH_THREADS` derivations at once (default `threads`), and
 * `PASSWORD_HASH_QUEUE` calls waiting (default 4 per derivation).
 * @example boundedHasher(pbkdf2Hasher(), hashBounds(env, 1));
 */
export function hashBounds(
  env: Pick<Env, 'PASSWORD_HASH_THREADS' | 'PASSWORD_HASH_QUEUE'>,
  threads: number,
): HashBounds {
  const concurrency = env.PASSWORD_HASH_THREADS ?? threads;
  return { concurrency, queue: env.PASSWORD_HASH_QUEUE ?? 4 * concurrency };
}

/** Lapsed leases are looked for this often (at most 5 s), so an item is back within `LEASE_SECONDS` + 10 s. */
export const sweepIntervalMs = (leaseSeconds: number) => Math.min(5000, (leaseSeconds * 1000) / 3);

/**
 * Starts the queue's work in this process: the periodic lease sweep (every role), then the workers (restart
 * recovery first) and each runtime's first model that loads, so `/ready` turns 200. Returns the sweeper,
 * to close at shutdown.
 * @example const sweeper = await startWorkers(deps, pool, runtimes, env.LEASE_SECONDS);
 */
export async function startWorkers(
  deps: AppDeps,
  pool: WorkerPool | null,
  runtimes: InferenceRuntime[] | InferenceRuntime | undefined,
  leaseSeconds = 30,
): Promise<LeaseSweeper> {
  const ctx = contextFromDeps(deps, 'worker', null);
  const sweeper = new LeaseSweeper(ctx, deps.logger, sweepIntervalMs(leaseSeconds));
  const list = runtimes === undefined ? [] : Array.isArray(runtimes) ? runtimes : [runtimes];
  if (pool) {
    await pool.start(ctx);
  }
  sweeper.start();
  if (!pool) {
    return sweeper;
  }
  await Promise.all(list.map((runtime) => preloadFirstModel(deps, runtime)));
  return sweeper;
}

async function preloadFirstModel(deps: AppDeps, runtime: InferenceRuntime): Promise<void> {
  for (const model of deps.models.list()) {
    try {
      await runtime.preload(model.key);
      deps.logger.info('model ready', { model: model.key });
      return;
    } catch (err) {
      deps.logger.error('model failed to load', { model: model.key, error: (err as Error).message });
    }
  }
  deps.logger.warn('no model could be loaded: generation will fail until one is installed', {});
}
