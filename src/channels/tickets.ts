import type { AuthUser } from '../core/actor.ts';
import type { Clock } from '../core/clock.ts';

export const TICKET_TTL_S = 60;

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');

/** What a ticket stands for: the user who asked for it, and the bearer token they asked with (if any). */
export interface TicketHolder {
  user: AuthUser;
  /** Checked again when the ticket is used: it may have been revoked in between. */
  bearer: string | undefined;
}

/**
 * Single-use, 60-second tickets that let `EventSource` (which cannot send headers) open a stream as the
 * user who asked for the ticket.
 * @example const ticket = tickets.issue(user, bearer); …; const holder = tickets.consume(ticket); // undefined the 2nd time
 */
export class TicketStore {
  readonly #tickets = new Map<string, TicketHolder & { expiresAt: number }>();

  constructor(private readonly clock: Clock) {}

  issue(user: AuthUser, bearer?: string): { ticket: string; expires_in: number } {
    const now = this.clock.now().getTime();
    for (const [t, v] of this.#tickets) {
      if (v.expiresAt <= now) {
        this.#tickets.delete(t);
      }
    }
    const ticket = b64url(crypto.getRandomValues(new Uint8Array(32)));
    this.#tickets.set(ticket, { user, bearer, expiresAt: now + TICKET_TTL_S * 1000 });
    return { ticket, expires_in: TICKET_TTL_S };
  }

  consume(ticket: string): TicketHolder | undefined {
    const entry = this.#tickets.get(ticket);
    this.#tickets.delete(ticket);
    return entry && entry.expiresAt > this.clock.now().getTime()
      ? { user: entry.user, bearer: entry.bearer }
      : undefined;
  }

  get size(): number {
    return this.#tickets.size;
  }
}
