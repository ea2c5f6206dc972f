// Loads Node's event-stream sink before any test file serves an app: its `RESPONSE_ALREADY_SENT` marker must
// be made before @hono/node-server swaps the global `Response` on its first `serve` (src/node/response-sink.ts),
// as the entries do by importing it first. Test files share their worker's modules (`isolate: false`), so
// without this the marker's kind depended on which file of the worker served first.
import '../../src/node/response-sink.ts';
