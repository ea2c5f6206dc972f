import { hostname } from 'node:os';
import { serve } from '@hono/node-server';
import { createApp } from './app.ts';
import { startWorkers } from './boot.ts';
import { createJsonLogger } from './core/logger.ts';
import { EnvError, parseEnv } from './env.ts';
import { buildNodeDeps } from './node/boot.ts';
import { mountWebUi } from './node/static.ts';

/** A bad setting (a variable, or a file it names) stops the process with its message and exit code 2. */
async function orExit<T>(step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof EnvError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

const env = await orExit(() => parseEnv(process.env, { NODE_ID: `${hostname()}.${process.pid}` }));
const logger = createJsonLogger({ level: env.LOG_LEVEL });
const { deps, pool, database, runtimes } = await orExit(() => buildNodeDeps(env, logger));
// ROLE=worker serves /health and /ready alone; api and all serve the whole API and the web UI.
const app = createApp(deps, { probesOnly: env.ROLE === 'worker' });
if (env.ROLE !== 'worker') {
  await mountWebUi(app, { projectRoot: new URL('../', import.meta.url).pathname });
}

const server = serve({ fetch: app.fetch, hostname: env.HOST, port: env.PORT }, (info) => {
  // Printed at every log level: scripts and people wait for this line.
  console.log(`listening on http://${env.HOST}:${info.port}`);
});
logger.info('starting', {
  role: env.ROLE,
  node_id: env.NODE_ID,
  devices: env.ROLE === 'api' ? [] : env.DEVICES,
  workers: pool?.workerIds ?? [],
});
const sweeper = await startWorkers(deps, pool, runtimes, env.LEASE_SECONDS);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) {
    return;
  }
  stopping = true;
  logger.info('shutting down', { signal });
  deps.channels.close(); // ends the open event streams so the listener can close
  server.close();
  // Running items stop where they are; their leases lapse and another worker (or the next start) re-queues them.
  const workers = pool?.close();
  await Promise.all(runtimes.map((r) => r.close()));
  await workers;
  await sweeper.close();
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
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
