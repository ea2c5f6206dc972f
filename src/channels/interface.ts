import type { ChannelPort, ServerEvent } from '../core/events.ts';
import type { Connection, ConnectionInfo } from './connection.ts';
import type { FrameSink } from './sink.ts';

/** What the event stream asks the hub for one new connection. */
export interface ConnectRequest {
  info: ConnectionInfo;
  /** Anonymous connections share one channel that only gets queue-wide events. */
  anonymous: boolean;
  lastEventId: string | undefined;
  /** Where the stream's frames go (the response to the client). */
  sink: FrameSink;
}

/**
 * The channel hub as the app sees it: open a stream, publish, end streams on revocation, observe events.
 * The in-process `ChannelHub` implements it; a cross-process transport (PostgreSQL LISTEN/NOTIFY feeding
 * each node's hub) can implement it later without touching routes or services.
 */
export interface Channels extends ChannelPort {
  connect(req: ConnectRequest): Connection;
  observe(listener: (event: ServerEvent) => void): () => void;
  stats(): { channels: number; connections: number; timers: number };
  close(): void;
  /** Closes, then waits for the log's writes and reads in flight to end (before the database closes). */
  shutdown(): Promise<void>;
}
