// The Deno entry: the same server as src/main.node.ts on the portable core (Web APIs, PGlite, Deno.serve).
//
//   deno run --node-modules-dir=manual --allow-env --allow-read --allow-write --allow-net src/main.deno.ts
//
// Run it from the repository root after `npm ci`: npm packages load from the project's node_modules.
// The environment is API.md section 0, with these differences from the Node entry:
// - `DATABASE_URL` is refused (exit 2): the postgres.js driver is Node-only; the database is always PGlite,
//   under `DATA_DIR/db`.
// - `EASEL_DENO_MEMORY=1` keeps everything in memory and writes nothing: PGlite in memory, and the JWT secret
//   is `JWT_SECRET` or a random one for this process (tokens then end with it). For smoke tests and trials.
// - Images: there is no image codec (sharp is native), so uploads and generation answer 503 `unavailable`;
//   the blob store is in memory.
// Typechecked with `deno check src/main.deno.ts` (tests/unit/deno.test.ts), not by tsc: tsconfig excludes it,
// as the project's tsc has no Deno types.
import type { PGlite } from '@electric-sql/pglite';
import { createApp } from './app.ts';
import { type BootFiles, buildDeps } from './boot.ts';
import { createJsonLogger } from './core/logger.ts';
import { openPglite } from './db/pglite.ts';
import { pgliteNotifier } from './db/pglite-notify.ts';
import { EnvError, parseEnv } from './env.ts';
import { readableSinks } from './http/readable-sink.ts';
import { DbBlobStore } from './images/db-blob-store.ts';
import { MemoryBlobStore } from './images/memory-blob-store.ts';
import { unavailableCodec } from './images/unavailable-codec.ts';

const source = Deno.env.toObject();
let env: ReturnType<typeof parseEnv>;
try {
  env = parseEnv(source);
  if (env.DATABASE_URL) {
    throw new EnvError(
      'invalid configuration:\n  DATABASE_URL: not supported on Deno (PGlite only); unset it, or use the Node entry',
    );
  }
} catch (err) {
  if (err instanceof EnvError) {
    console.error(err.message);
    Deno.exit(2);
  }
  throw err;
}
const inMemory = source.EASEL_DENO_MEMORY === '1';

const logger = createJsonLogger({ level: env.LOG_LEVEL });
if (!inMemory) {
  await Deno.mkdir(env.DATA_DIR, { recursive: true });
}
const database = await openPglite(inMemory ? undefined : `${env.DATA_DIR}/db`);
const files: BootFiles = {
  readText: (p) => Deno.readTextFile(p),
  createPrivate: (p, text) => Deno.writeTextFile(p, text, { mode: 0o600, createNew: true }),
  listFolders: async (p) => {
    const folders: string[] = [];
    for await (const entry of Deno.readDir(p)) {
      if (entry.isDirectory) {
        folders.push(entry.name);
      }
    }
    return folders;
  },
  isNotFound: (err) => err instanceof Deno.errors.NotFound,
};
const { deps } = await buildDeps({
  env,
  database,
  files,
  // Events through the channel log: Last-Event-ID replay survives a restart.
  notifier: pgliteNotifier((database.db as unknown as { $client: PGlite }).$client),
  logger,
  projectRoot: new URL('../', import.meta.url).pathname,
  persistSecret: !inMemory,
  images: unavailableCodec,
  // BLOB_STORE=postgres keeps images in the (PGlite) database, so they outlive the process.
  blobs: env.BLOB_STORE === 'postgres' ? new DbBlobStore(database.db) : new MemoryBlobStore(),
  streamSinks: readableSinks,
  // Deno.serve passes its ServeHandlerInfo as the second argument of app.fetch, which Hono exposes as c.env.
  clientAddress: (c) =>
    (c.env as Partial<Deno.ServeHandlerInfo<Deno.NetAddr>> | undefined)?.remoteAddr?.hostname,
});
const app = createApp(deps);

const server = Deno.serve(
  {
    hostname: env.HOST,
    port: env.PORT,
    onListen: ({ port }) => {
      // Printed at every log level: scripts and people wait for this line.
      console.log(`listening on http://${env.HOST}:${port}`);
    },
  },
  (req, info) => app.fetch(req, info),
);

let stopping = false;
async function shutdown(signal: Deno.Signal) {
  if (stopping) {
    return;
  }
  stopping = true;
  logger.info('shutting down', { signal });
  deps.channels.close(); // ends the open event streams
  void server.shutdown(); // as server.close() in main.node.ts: stop accepting, do not wait for open streams
  // Stop listening and reading before the database closes (PGlite's close waits on a read in flight), and
  // never let a stuck close keep the process alive: 5 s at most.
  await Promise.race([
    (async () => {
      await deps.revocations?.stop();
      await deps.channels.shutdown();
      await database.close();
    })(),
    new Promise((resolve) => setTimeout(resolve, 5000)),
  ]);
  Deno.exit(0);
}
Deno.addSignalListener('SIGINT', () => void shutdown('SIGINT'));
Deno.addSignalListener('SIGTERM', () => void shutdown('SIGTERM'));
