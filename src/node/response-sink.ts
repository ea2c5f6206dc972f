import { type OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { FrameSink, OpenedSink } from '../channels/sink.ts';
import { readableSink } from '../http/readable-sink.ts';
import type { StreamSinks } from '../http/stream-sinks.ts';
import type { AppEnv } from '../http/types.ts';

/**
 * A sink writing frames straight to Node's `ServerResponse` (no Web stream, no promise per frame). Frames
 * are held until the app's final response is known (`start`). Past the socket's high-water mark, `write`
 * counts the frames written since; `drain` resets the count. The response's `close` before `end` is the
 * client going away.
 */
class ResponseSink implements FrameSink {
  readonly #res: ServerResponse;
  /** Frames written before the head was sent; undefined once started. */
  #held: Uint8Array[] | undefined = [];
  #endWhenStarted = false;
  #waiting = 0;
  #done = false;
  #gone: (() => void) | undefined;

  constructor(res: ServerResponse) {
    this.#res = res;
    const gone = () => this.abandon();
    res.on('close', gone);
    res.on('error', gone);
    res.on('drain', () => {
      this.#waiting = 0;
    });
    if (res.destroyed) {
      queueMicrotask(gone);
    }
  }

  write(frame: Uint8Array): number {
    if (this.#done) {
      return 0;
    }
    if (this.#held) {
      this.#held.push(frame);
      return this.#held.length;
    }
    return this.#send(frame);
  }

  #send(frame: Uint8Array): number {
    if (!this.#res.write(frame) || this.#waiting > 0) {
      this.#waiting++;
    }
    return this.#waiting;
  }

  end(): void {
    if (this.#done) {
      return;
    }
    this.#done = true;
    if (this.#held) {
      this.#endWhenStarted = true;
    } else {
      this.#res.end();
    }
  }

  onGone(listener: () => void): void {
    this.#gone = listener;
  }

  /** Sends the head and the held frames (also when the stream was ended meanwhile: they say why). */
  start(status: number, headers: OutgoingHttpHeaders): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    this.#res.writeHead(status, headers);
    for (const frame of held) {
      this.#send(frame);
    }
    if (this.#endWhenStarted) {
      this.#res.end();
    }
  }

  /** The client is gone, or the response will not be this stream: the connection is forgotten. */
  abandon(): void {
    if (this.#done) {
      return;
    }
    this.#done = true;
    this.#held = undefined;
    this.#gone?.();
  }
}

/** Node's response of a request served by @hono/node-server, if that is how it came. */
function nodeResponse(c: Context<AppEnv>): ServerResponse | undefined {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
  return outgoing instanceof ServerResponse ? outgoing : undefined;
}

/** Headers as Node's `writeHead` takes them (lower-case names, `set-cookie` as a list), as @hono/node-server. */
function outgoingHeaders(headers: Headers): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of headers) {
    if (name !== 'set-cookie') {
      out[name] = value;
    }
  }
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) {
    out['set-cookie'] = cookies;
  }
  return out;
}

/**
 * The Node event-stream transport: on a request served by @hono/node-server, frames go straight to
 * `c.env.outgoing`; `finish` (mounted first on the events path) sends the app's final status and headers,
 * then the held frames, and answers @hono/node-server with `RESPONSE_ALREADY_SENT`. Other requests (tests'
 * `app.request`, HTTP/2) get the portable `ReadableStream` sink. `RESPONSE_ALREADY_SENT` must be made before
 * @hono/node-server swaps the global `Response` for its own (on its first `serve` with
 * `overrideGlobalObjects`): one made after it takes a path that writes the headers again. The entries import
 * this module before serving; tests load it first (tests/helpers/node-sink-first.ts).
 * @example const deps = await buildDeps({ ...opts, streamSinks: nodeStreamSinks() });
 */
export function nodeStreamSinks(): StreamSinks {
  const pending = new WeakMap<ServerResponse, ResponseSink>();
  return {
    open(c): OpenedSink {
      const res = nodeResponse(c);
      if (!res) {
        return readableSink();
      }
      const sink = new ResponseSink(res);
      pending.set(res, sink);
      return { sink, body: null };
    },
    finish: async function sendEventStream(c, next) {
      await next();
      const res = nodeResponse(c);
      const sink = res && pending.get(res);
      if (!(res && sink)) {
        return;
      }
      pending.delete(res);
      if (c.error || c.res.status !== 200) {
        sink.abandon(); // the app answered something else (an error): @hono/node-server sends it
        return;
      }
      sink.start(c.res.status, outgoingHeaders(c.res.headers));
      // Unset first, or Hono would copy the headers into a new Response, which @hono/node-server would send.
      c.res = undefined;
      c.res = RESPONSE_ALREADY_SENT;
    },
  };
}
