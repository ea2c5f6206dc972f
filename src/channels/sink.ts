/** Where one event stream's frames go: the response to one client. */
export interface FrameSink {
  /**
   * Sends one encoded frame (the caller never changes its bytes afterwards). Returns how many frames are
   * waiting for the client beyond what the transport buffers: the connection closes past its bound.
   */
  write(frame: Uint8Array): number;
  /** Ends the response once what was written has been sent. */
  end(): void;
  /** `listener` runs once, asynchronously, when the client goes away before `end`. */
  onGone(listener: () => void): void;
}

/** The sink of one request, and the body the route answers with (null when the sink sends the response). */
export interface OpenedSink {
  sink: FrameSink;
  body: ReadableStream<Uint8Array> | null;
}
