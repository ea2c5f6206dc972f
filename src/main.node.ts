// The Node entry (`npm start`): Easel on @hono/node-server. src/main.deno.ts is the same server on Deno.serve;
// everything else is src/node/server.ts.
import process from 'node:process';
import { serve } from '@hono/node-server';
import { nodeRequestEdge } from './node/boot.ts';
import { startEasel } from './node/server.ts';

const easel = await startEasel(process.env, {
  ...nodeRequestEdge(),
  listen: (app, { hostname, port }, onListen) =>
    serve({ fetch: app.fetch, hostname, port }, (info) => onListen(info.port)),
});

async function shutdown(signal: NodeJS.Signals) {
  await easel.stop(signal);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
