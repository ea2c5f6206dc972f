import type { EventPublisher } from './interface.ts';

/** Drops every event: the server's publisher until an event stream is attached. */
export const noopPublisher: EventPublisher = { publish: () => {} };
