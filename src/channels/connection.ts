import type { FrameSink } from './sink.ts';

/** Why a stream ended. */
export type CloseReason = 'client_gone' | 'slow_client' | 'auth_expired' | 'shutdown';

export interface ConnectionInfo {
  connectionId: string;
  userId: string;
  isAdmin: boolean;
  /** The token behind the stream (`sid`: its login session): it closes when it expires or is revoked. */
  token: { sid: string; exp: number; epoch: number } | null;
}

/**
 * One open event stream (one browser tab) writing SSE frames to its sink. A client that falls `maxQueued`
 * frames behind is disconnected (it resumes with `Last-Event-ID`).
 */
export class Connection {
  lastWriteAt = 0;
  closed = false;
  readonly #sink: FrameSink;
  readonly #maxQueued: number;
  readonly #onClose: (reason: CloseReason) => void;

  constructor(
    readonly info: ConnectionInfo,
    sink: FrameSink,
    maxQueued: number,
    onClose: (conn: Connection, reason: CloseReason) => void,
  ) {
    this.#sink = sink;
    this.#maxQueued = maxQueued;
    this.#onClose = (reason) => onClose(this, reason);
    sink.onGone(() => this.close('client_gone'));
  }

  /** Sends a frame; false (and the connection closed) when the client is too far behind. */
  write(frame: Uint8Array, now: number): boolean {
    if (this.closed) {
      return false;
    }
    const waiting = this.#sink.write(frame);
    this.lastWriteAt = now;
    if (waiting > this.#maxQueued) {
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
      this.#sink.end();
    }
    this.#onClose(reason);
  }
}
