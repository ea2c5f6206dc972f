import type { Context, MiddlewareHandler } from 'hono';
import type { OpenedSink } from '../channels/sink.ts';

/**
 * How event streams reach clients on this runtime, chosen at boot (`AppDeps.streamSinks`): the portable
 * `ReadableStream` body, or on Node frames written straight to the response.
 */
export interface StreamSinks {
  /** Opens the sink for one `GET /events` request, before the route answers. */
  open(c: Context): OpenedSink;
  /**
   * Mounted by `createApp` on the events path before every other middleware, when present: it sees the
   * app's final response (status, headers) and sends it with what `open` held back.
   */
  readonly finish?: MiddlewareHandler;
}
