import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { getConnInfo } from '@hono/node-server/conninfo';
import { type BootFiles, buildDeps, loadJwtSecret } from '../boot.ts';
import type { Logger } from '../core/logger.ts';
import type { ModelCatalog } from '../core/models.ts';
import { openPglite } from '../db/pglite.ts';
import type { Database } from '../db/types.ts';
import type { AppDeps } from '../deps.ts';
import type { Env } from '../env.ts';
import type { StreamSinks } from '../http/stream-sinks.ts';
import { DbBlobStore } from '../images/db-blob-store.ts';
import type { WorkerPool, WorkerSpec } from '../worker/pool.ts';
import { ChildRuntime } from './child-runtime.ts';
import { FsBlobStore } from './fs-blob-store.ts';
import { Pbkdf2Threads } from './pbkdf2-threads.ts';
import { ensurePgliteFolder } from './pglite-folder.ts';
import { openPostgres } from './postgres-client.ts';
import { nodeStreamSinks } from './response-sink.ts';
import { sharpCodec } from './sharp-images.ts';

/** Node's file access for the portable boot code. */
export const nodeFiles: BootFiles = {
  readText: (p) => readFile(p, 'utf8'),
  createPrivate: (p, text) => writeFile(p, text, { mode: 0o600, flag: 'wx' }),
  listFolders: async (p) =>
    (await readdir(p, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name),
  isNotFound: (err) => (err as NodeJS.ErrnoException).code === 'ENOENT',
};

/** The inference settings of one `DEVICES` entry: `cuda:N` is CUDA device N; `cpu` keeps `EXECUTION_PROVIDER`. */
export function deviceSettings(
  device: string,
  env: Pick<Env, 'DEVICES' | 'EXECUTION_PROVIDER'>,
  cores = availableParallelism(),
): { executionProvider: 'cpu' | 'cuda'; deviceId?: number; threads: number } {
  const cuda = /^cuda:(\d+)$/.exec(device);
  if (cuda) {
    return { executionProvider: 'cuda', deviceId: Number(cuda[1]), threads: 0 };
  }
  // Several CPU workers share the cores; one alone lets onnxruntime choose.
  const cpuWorkers = env.DEVICES.filter((d) => d === 'cpu').length;
  return {
    executionProvider: env.EXECUTION_PROVIDER,
    threads: cpuWorkers > 1 ? Math.max(1, Math.floor(cores / cpuWorkers)) : 0,
  };
}

/** What a runtime's server tells of a request (the client's address) and how it streams events. */
export interface RequestEdge {
  clientAddress: AppDeps['clientAddress'];
  streamSinks: StreamSinks;
}

/** Node's: requests served by @hono/node-server, event frames written straight to the response. */
export const nodeRequestEdge = (): RequestEdge => ({
  clientAddress: (c) => getConnInfo(c).remote.address,
  streamSinks: nodeStreamSinks(),
});

/**
 * Opens the database (PostgreSQL when `DATABASE_URL` is set, else PGlite under `DATA_DIR/db`) and builds the
 * app's deps with the portable boot code: one inference child per `DEVICES` entry, none for `ROLE=api`.
 * `edge` is what the serving runtime (Node's server or `Deno.serve`) tells of a request and how it streams.
 */
export async function buildNodeDeps(
  env: Env,
  logger: Logger,
  edge: RequestEdge = nodeRequestEdge(),
): Promise<{ deps: AppDeps; pool: WorkerPool | null; database: Database; runtimes: ChildRuntime[] }> {
  await mkdir(env.DATA_DIR, { recursive: true });
  // Before the database opens: a bad secret file stops the start at once (creating a PGlite database takes
  // seconds).
  const secret = await loadJwtSecret(nodeFiles, env);
  if (!env.DATABASE_URL) {
    await ensurePgliteFolder(join(env.DATA_DIR, 'db'), (msg, fields) => logger.info(msg, fields));
  }
  // PGlite queries run on this thread: a macrotask turn before each lets other work in (`takeTurns`).
  const database = env.DATABASE_URL
    ? openPostgres(env.DATABASE_URL)
    : await openPglite(join(env.DATA_DIR, 'db'), () => setImmediate());
  // Password derivations on threads of their own, off libuv's pool that file reads use (docs/operations.md).
  const hashThreads = new Pbkdf2Threads(
    env.PASSWORD_HASH_THREADS ?? Math.max(1, Math.floor(availableParallelism() / 2)),
  );
  let catalog: ModelCatalog | undefined;
  const workers: WorkerSpec[] = (env.ROLE === 'api' ? [] : env.DEVICES).map((device) => ({
    device,
    runtime: new ChildRuntime({
      models: () =>
        Object.fromEntries(
          (catalog?.list() ?? []).map((m) => [m.key, resolve(catalog?.folder(m.key) ?? m.key)]),
        ),
      ...deviceSettings(device, env),
      progressMaxHz: env.PROGRESS_MAX_HZ,
      logger,
    }),
  }));
  const { deps, pool } = await buildDeps({
    env,
    database,
    files: nodeFiles,
    notifier: database.notifier,
    logger,
    secret,
    projectRoot: new URL('../../', import.meta.url).pathname,
    clientAddress: edge.clientAddress,
    images: sharpCodec({ pngCompression: env.PNG_COMPRESSION }),
    blobs: env.BLOB_STORE === 'postgres' ? new DbBlobStore(database.db) : new FsBlobStore(env.DATA_DIR),
    streamSinks: edge.streamSinks,
    workers,
    derive: hashThreads,
  });
  catalog = deps.models;
  return { deps, pool, database, runtimes: workers.map((w) => w.runtime as ChildRuntime) };
}
