import type { DbOrTx } from './db.ts';
/** Events the server publishes (API.md section 5). `ownerId` null means queue-wide (everyone on the queue). */
export const SERVER_EVENT_NAMES = [
  'queue_item_status_changed',
  'invocation_started',
  'invocation_progress',
  'invocation_complete',
  'invocation_error',
  'batch_enqueued',
  'queue_items_retried',
  'queue_items_canceled',
  'queue_cleared',
  'queue_status',
] as const;
export type ServerEventName = (typeof SERVER_EVENT_NAMES)[number];

export interface ServerEvent {
  name: ServerEventName;
  queueId: string;
  /** The user whose item this is; null for queue-wide events. Admins get copies of owned events. */
  ownerId: string | null;
  data: Record<string, unknown>;
}

/**
 * The publisher port: services call it after the database write; the channel hub delivers.
 * @example events.publish({ name: 'batch_enqueued', queueId: 'default', ownerId: userId, data });
 */
export interface EventPublisher {
  publish(event: ServerEvent): void;
}

/** Events handed to a transaction by `ChannelPort.takePending`. */
export interface PendingEvents {
  events: ServerEvent[];
  /** Once the transaction ended: `committed` true when the events were written with it. */
  release(committed: boolean): void;
}

/** Ends open event streams when their token stops being valid. */
export interface StreamControl {
  /** Every stream of this login session (logout). */
  closeSession(sid: string): void;
  /** Every stream of the user, or only those of tokens older than `minEpoch`. */
  closeUser(userId: string, minEpoch?: number): void;
}

/**
 * What services see of the channel hub: publish, end streams on revocation. Inside `withTransaction`,
 * `publish` goes to the transaction's outbox: `appendIn` writes the outbox as the transaction's last
 * statements (the channel log, docs/adr/0004-channel-log.md) and `committed` runs once it committed.
 */
export interface ChannelPort extends EventPublisher, StreamControl {
  /** Resolves once the events `publish` took outside transactions are written (they keep their order). */
  appended?(): Promise<void>;
  /**
   * The events `publish` took outside transactions and not yet written, for the caller's transaction to write
   * first (after any write of them in flight): nothing else is written until `release` says whether that
   * transaction committed them; if not, the hub writes them itself, still first.
   */
  takePending?(): Promise<PendingEvents>;
  appendIn?(db: DbOrTx, events: ServerEvent[]): Promise<void>;
  committed?(events: ServerEvent[]): void;
}
