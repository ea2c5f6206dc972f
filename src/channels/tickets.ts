import type { AuthUser } from '../core/actor.ts';

export const TICKET_TTL_S = 60;

/**
 * What a ticket stands for: the user who asked for it as they were authenticated then. A token user's claims
 * (`sid`, `epoch`, `exp`) are checked again when the ticket is used, since the token may have been revoked in
 * between; the token itself is never kept.
 */
export interface TicketHolder {
  user: AuthUser;
}

/**
 * Single-use, 60-second tickets that let `EventSource` (which cannot send headers) open a stream as the
 * user who asked for the ticket. The implementation is `sharedTicketStore` (the database), so a ticket
 * issued by one process works on any process of the installation (API.md sections 5 and 8).
 * @example const { ticket } = await tickets.issue(user); …; const holder = await tickets.consume(ticket); // undefined the 2nd time
 */
export interface TicketStore {
  issue(user: AuthUser): Promise<{ ticket: string; expires_in: number }>;
  /** What the ticket stands for, or undefined when it is unknown, used already or expired. */
  consume(ticket: string): Promise<TicketHolder | undefined>;
}
