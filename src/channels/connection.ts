const encoder = new TextEncoder();

/** Why a stream ended. */
export type CloseReason = 'client_gone' | 'slow_client' | 'auth_expired' | 'shutdown';

export interface ConnectionInfo {
  connectionId: string;
  userId: string;
  isAdmin: boolean;
  /** The token behind the stream: it closes when the token expires or is revoked. */
  token: { jti: string; exp: number; epoch: number } | null;
}

/**
 * One open event stream (one browser tab): a `ReadableStream` of SSE frames with a bounded queue. A reader
 * that falls `maxQueued` frames behind is disconnected (it resumes with `Last-Event-ID`).
 */
export class Connection {
  readonly stream: ReadableStream<Uint8Array>;
  lastWriteAt = 0;
  closed = false;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #onClose: (reason: CloseReason) => void;

  constructor(
    readonly info: ConnectionInfo,
    maxQueued: number,
    onClose: (conn: Connection, reason: CloseReason) => void,
  ) {
    this.#onClose = (reason) => onClose(this, reason);
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        cancel: () => this.close('client_gone'),
      },
      new CountQueuingStrategy({ highWaterMark: maxQueued }),
    );
  }

  /** Queues a frame; false (and the connection closed) when the reader is too far behind. */
  write(frame: string, now: number): boolean {
    if (this.closed) {
      return false;
    }
    this.#controller.enqueue(encoder.encode(frame));
    this.lastWriteAt = now;
    if ((this.#controller.desiredSize ?? 0) < 0) {
      this.close('slow_client');
      return false;
    }
    return true;
  }

  /** Ends the stream once; the owner is told so it can forget the connection. */
  close(reason: CloseReason): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    if (reason !== 'client_gone') {
      try {
        this.#controller.close();
      } catch {
        // already errored or canceled by the reader
      }
    }
    this.#onClose(reason);
  }
}
