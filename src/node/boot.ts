import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Sql } from 'postgres';
import { type BootFiles, buildDeps } from '../boot.ts';
import type { Logger } from '../core/logger.ts';
import type { ModelCatalog } from '../core/models.ts';
import { openPglite } from '../db/pglite.ts';
import { pgliteNotifier } from '../db/pglite-notify.ts';
import type { Database } from '../db/types.ts';
import type { AppDeps } from '../deps.ts';
import type { Env } from '../env.ts';
import { DbBlobStore } from '../images/db-blob-store.ts';
import type { WorkerPool } from '../worker/pool.ts';
import { ChildRuntime } from './child-runtime.ts';
import { FsBlobStore } from './fs-blob-store.ts';
import { postgresNotifier } from './pg-notify.ts';
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

/**
 * Opens the database (PostgreSQL when `DATABASE_URL` is set, else PGlite under `DATA_DIR/db`) and builds the
 * app's deps with the portable boot code.
 */
export async function buildNodeDeps(
  env: Env,
  logger: Logger,
): Promise<{ deps: AppDeps; pool: WorkerPool | null; database: Database; runtime: ChildRuntime }> {
  await mkdir(env.DATA_DIR, { recursive: true });
  const database = env.DATABASE_URL
    ? openPostgres(env.DATABASE_URL)
    : await openPglite(join(env.DATA_DIR, 'db'));
  const client = (database.db as unknown as { $client: unknown }).$client;
  const notifier =
    database.driver === 'postgres' ? postgresNotifier(client as Sql) : pgliteNotifier(client as PGlite);
  let catalog: ModelCatalog | undefined;
  const runtime = new ChildRuntime({
    models: () =>
      Object.fromEntries(
        (catalog?.list() ?? []).map((m) => [m.key, resolve(catalog?.folder(m.key) ?? m.key)]),
      ),
    executionProvider: env.EXECUTION_PROVIDER,
    progressMaxHz: env.PROGRESS_MAX_HZ,
    threads: 0,
    logger,
  });
  const { deps, pool } = await buildDeps({
    env,
    database,
    files: nodeFiles,
    notifier,
    logger,
    projectRoot: new URL('../../', import.meta.url).pathname,
    clientAddress: (c) => getConnInfo(c).remote.address,
    images: sharpCodec(),
    blobs: env.BLOB_STORE === 'postgres' ? new DbBlobStore(database.db) : new FsBlobStore(env.DATA_DIR),
    streamSinks: nodeStreamSinks(),
    runtime,
  });
  catalog = deps.models;
  return { deps, pool, database, runtime };
}
