import type { EventPublisher } from '../events/interface.ts';
import type { StreamControl } from '../services/context.ts';
import type { Connection } from './connection.ts';
import type { ConnectRequest } from './hub.ts';

/**
 * What the routes and services see of the channels: open a stream, publish, end streams on revocation.
 * The in-process `ChannelHub` implements it; a cross-process transport (PostgreSQL LISTEN/NOTIFY feeding
 * each node's hub) can implement it later without touching routes or services.
 */
export interface Channels extends EventPublisher, StreamControl {
  connect(req: ConnectRequest): Connection;
  stats(): { channels: number; connections: number; timers: number };
  close(): void;
}
