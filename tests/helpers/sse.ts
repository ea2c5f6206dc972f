import type { EventPublisher, ServerEvent } from '../../src/core/events.ts';

/**
 * One server-sent-events frame as a client sees it: a comment (`: ping`), a `retry:`, or an event. Fields
 * absent from the frame are absent here, so tests compare whole frames with `toEqual`. `data` is parsed as
 * JSON when it is JSON.
 */
export interface SseFrame {
  id?: string;
  event?: string;
  data?: unknown;
  retry?: number;
  comment?: string;
}

/** The frame a block of SSE lines (without the blank line that ends it) stands for. */
function parseBlock(block: string): SseFrame {
  const frame: SseFrame = {};
  const data: string[] = [];
  const comments: string[] = [];
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (line.startsWith(':')) {
      comments.push(line.slice(1).replace(/^ /, ''));
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') {
      frame.id = value;
    } else if (field === 'event') {
      frame.event = value;
    } else if (field === 'data') {
      data.push(value);
    } else if (field === 'retry') {
      frame.retry = Number(value);
    } else {
      throw new Error(`unknown SSE field in ${JSON.stringify(block)}`);
    }
  }
  if (data.length > 0) {
    const text = data.join('\n');
    try {
      frame.data = JSON.parse(text);
    } catch {
      frame.data = text;
    }
  }
  if (comments.length > 0) {
    frame.comment = comments.join('\n');
  }
  return frame;
}

/**
 * Reads an event stream and collects its frames. Tests wait on what arrived (`until`), never on time; the
 * timeout only turns a missing frame into a readable failure.
 * @example const sse = new SseReader(res.body); await sse.until((f) => f.some((x) => x.event === 'connected'));
 */
export class SseReader {
  /** Every complete frame so far, in order. */
  readonly frames: SseFrame[] = [];
  /** Every byte so far, decoded: for "this text never appears" checks. */
  text = '';
  /** The stream ended (`read()` said done) or failed (`error`). */
  done = false;
  error: unknown;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #rest = '';
  #inFlight: Promise<void> | undefined;

  constructor(body: ReadableStream<Uint8Array> | null) {
    if (!body) {
      throw new Error('the response has no body');
    }
    this.#reader = body.getReader();
  }

  /** The frames that are events (named), in order. */
  get events(): SseFrame[] {
    return this.frames.filter((f) => f.event !== undefined);
  }

  /** The names of the events so far. */
  names(): string[] {
    return this.events.map((f) => f.event as string);
  }

  /** Reads until `done(frames)` holds; fails if the stream ends first or nothing comes within `timeoutMs`. */
  async until(
    done: (frames: SseFrame[]) => boolean,
    what = 'the expected frames',
    timeoutMs = 5000,
  ): Promise<SseFrame[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      while (!done(this.frames)) {
        if (this.done) {
          throw new Error(`the stream ended before ${what}; got ${this.describe()}`);
        }
        const step = await Promise.race([this.#readOnce(), expired]);
        if (step === 'timeout') {
          throw new Error(`no ${what} within ${timeoutMs} ms; got ${this.describe()}`);
        }
      }
      return this.frames;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads until `count` events named `name` have arrived (in all, not only new ones). */
  untilEvent(name: string, count = 1, timeoutMs?: number): Promise<SseFrame[]> {
    return this.until(
      (frames) => frames.filter((f) => f.event === name).length >= count,
      `${count} × ${name}`,
      timeoutMs,
    );
  }

  /** Reads until the stream ends and returns every frame. */
  async untilEnd(timeoutMs = 5000): Promise<SseFrame[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      while (!this.done) {
        if ((await Promise.race([this.#readOnce(), expired])) === 'timeout') {
          throw new Error(`the stream did not end within ${timeoutMs} ms; got ${this.describe()}`);
        }
      }
      return this.frames;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Goes away like a closed tab (cancels the body). Safe to call twice. */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.#reader.cancel().catch(() => {});
    }
  }

  describe(): string {
    return JSON.stringify(this.frames.map((f) => (f.event ? { id: f.id, event: f.event } : f)));
  }

  /** One read; a read still in flight from an earlier, timed-out wait is reused, never doubled. */
  #readOnce(): Promise<void> {
    this.#inFlight ??= this.#read().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #read(): Promise<void> {
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await this.#reader.read();
    } catch (err) {
      this.error = err;
      this.done = true;
      return;
    }
    if (result.done) {
      this.done = true;
      return;
    }
    const chunk = this.#decoder.decode(result.value, { stream: true });
    this.text += chunk;
    this.#rest += chunk;
    for (let end = this.#rest.search(/\r?\n\r?\n/); end >= 0; end = this.#rest.search(/\r?\n\r?\n/)) {
      const block = this.#rest.slice(0, end);
      this.#rest = this.#rest.slice(end).replace(/^\r?\n\r?\n/, '');
      this.frames.push(parseBlock(block));
    }
  }
}

/** The frames of channel events (those with an `id:`), in order. */
export const withIds = (frames: SseFrame[]) => frames.filter((f) => f.id !== undefined);

/**
 * Publishes a queue-wide event that every open stream receives: what a test waits on to know that
 * everything before it arrived, and that a stream is still open.
 * @example const live = publishSentinel(h.channels); await sse.untilEvent('queue_cleared');
 */
export function publishSentinel(channels: EventPublisher): ServerEvent {
  const e: ServerEvent = {
    name: 'queue_cleared',
    queueId: 'default',
    ownerId: null,
    data: { queue_id: 'default' },
  };
  channels.publish(e);
  return e;
}
