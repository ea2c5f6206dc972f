import { hostname } from 'node:os';
import process from 'node:process';
import type { Hono } from 'hono';
import { createApp } from '../app.ts';
import { startWorkers } from '../boot.ts';
import { createJsonLogger } from '../core/logger.ts';
import { EnvError, parseEnv } from '../env.ts';
import type { AppEnv } from '../http/types.ts';
import { buildNodeDeps, type RequestEdge } from './boot.ts';
import { batchedLineWriter } from './log-writer.ts';
import { mountWebUi } from './static.ts';

/** What differs between the runtimes an entry starts Easel on: how it listens and what it knows of a request. */
export interface ServerEdge extends RequestEdge {
  /** Serves `app`; calls `onListen` with the port once listening. `close` stops accepting connections. */
  listen(
    app: Hono<AppEnv>,
    address: { hostname: string; port: number },
    onListen: (port: number) => void,
  ): { close(): void };
}

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

/**
 * Everything `npm start` and `deno task start` do, on either runtime: parse the environment, open the
 * database, build the deps (inference children, sharp, the blob store), serve the API and the web UI, then
 * start the workers. Prints `listening on http://HOST:PORT` once listening. Returns `stop`, which ends the
 * event streams, the workers and the database (5 s at most for the database) for the entry's signal handler.
 * @example const easel = await startEasel(process.env, { ...nodeRequestEdge(), listen }); await easel.stop('SIGTERM');
 */
export async function startEasel(
  source: Record<string, string | undefined>,
  edge: ServerEdge,
): Promise<{ stop(signal: string): Promise<void> }> {
  const env = await orExit(() => parseEnv(source, { NODE_ID: `${hostname()}.${process.pid}` }));
  // One write per batch of lines, not one per line (src/node/log-writer.ts).
  const out = batchedLineWriter();
  const logger = createJsonLogger({ level: env.LOG_LEVEL, write: out.write });
  const { deps, pool, database, runtimes } = await orExit(() => buildNodeDeps(env, logger, edge));
  // ROLE=worker serves /health and /ready alone; api and all serve the whole API and the web UI.
  const app = createApp(deps, { probesOnly: env.ROLE === 'worker' });
  if (env.ROLE !== 'worker') {
    await mountWebUi(app, { projectRoot: new URL('../../', import.meta.url).pathname });
  }
  const server = edge.listen(app, { hostname: env.HOST, port: env.PORT }, (port) => {
    // Printed at every log level: scripts and people wait for this line (after the log lines before it).
    out.flush();
    console.log(`listening on http://${env.HOST}:${port}`);
  });
  logger.info('starting', {
    role: env.ROLE,
    node_id: env.NODE_ID,
    devices: env.ROLE === 'api' ? [] : env.DEVICES,
    workers: pool?.workerIds ?? [],
  });
  const sweeper = await startWorkers(deps, pool, runtimes, env.LEASE_SECONDS);

  let stopping: Promise<void> | undefined;
  async function stop(signal: string): Promise<void> {
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
    out.flush();
  }
  return {
    stop: (signal) => {
      stopping ??= stop(signal);
      return stopping;
    },
  };
}
