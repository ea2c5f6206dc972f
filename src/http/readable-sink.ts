import type { FrameSink, OpenedSink } from '../channels/sink.ts';
import type { StreamSinks } from './stream-sinks.ts';

/**
 * A sink whose frames are the chunks of a `ReadableStream` body (any runtime): the runtime pulls them as
 * the socket takes them, and the frames still queued are the ones the client has not taken.
 */
class ReadableSink implements FrameSink {
  readonly body: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #done = false;
  #gone: (() => void) | undefined;

  constructor() {
    // A high-water mark of 0: desiredSize is minus the number of queued frames.
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        cancel: () => {
          if (!this.#done) {
            this.#done = true;
            this.#gone?.();
          }
        },
      },
      new CountQueuingStrategy({ highWaterMark: 0 }),
    );
  }

  write(frame: Uint8Array): number {
    if (this.#done) {
      return 0;
    }
    this.#controller.enqueue(frame);
    return -(this.#controller.desiredSize ?? 0);
  }

  end(): void {
    if (this.#done) {
      return;
    }
    this.#done = true;
    this.#controller.close();
  }

  onGone(listener: () => void): void {
    this.#gone = listener;
  }
}

/**
 * A `ReadableStream` sink and its body.
 * @example const { sink, body } = readableSink(); hub.connect({ info, anonymous, lastEventId, sink });
 */
export function readableSink(): OpenedSink {
  const sink = new ReadableSink();
  return { sink, body: sink.body };
}

/**
 * The portable event-stream transport: the route answers with the sink's `ReadableStream`.
 * @example const deps: AppDeps = { ...others, streamSinks: readableSinks };
 */
export const readableSinks: StreamSinks = { open: () => readableSink() };
