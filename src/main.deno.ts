// The Deno entry (`deno task start`, deno.json): the same server as src/main.node.ts (src/node/server.ts,
// whose adapters run on Deno's Node compatibility: postgres, PGlite, sharp, the inference child process,
// files on disk), served by Deno.serve. Run it from the repository root after `npm ci`: npm packages load from
// the project's node_modules (deno.json: `"nodeModulesDir": "manual"`).
//
// What differs from Node: event streams are `ReadableStream` bodies (Node's entry writes frames straight to
// its response object, which Deno.serve has not), and the client address comes from Deno.serve's
// ServeHandlerInfo. docs/deno.md.
//
// Typechecked with `deno check src/main.deno.ts` (in `npm run typecheck`), not by tsc: tsconfig excludes it,
// as the project's tsc has no Deno types. tests/deno/server.test.ts runs it through `deno task start`.
import { readableSinks } from './http/readable-sink.ts';
import { startEasel } from './node/server.ts';

const easel = await startEasel(Deno.env.toObject(), {
  // Deno.serve passes its ServeHandlerInfo as the second argument of app.fetch, which Hono exposes as c.env.
  clientAddress: (c) =>
    (c.env as Partial<Deno.ServeHandlerInfo<Deno.NetAddr>> | undefined)?.remoteAddr?.hostname,
  streamSinks: readableSinks,
  listen: (app, { hostname, port }, onListen) => {
    const server = Deno.serve({ hostname, port, onListen: (addr) => onListen(addr.port) }, (req, info) =>
      app.fetch(req, info),
    );
    // As server.close() on Node: stop accepting, without waiting for the open streams.
    return { close: () => void server.shutdown() };
  },
});

async function shutdown(signal: Deno.Signal) {
  await easel.stop(signal);
  Deno.exit(0);
}
Deno.addSignalListener('SIGINT', () => void shutdown('SIGINT'));
Deno.addSignalListener('SIGTERM', () => void shutdown('SIGTERM'));
