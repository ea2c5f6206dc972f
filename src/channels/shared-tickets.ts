import { sql } from 'drizzle-orm';
import type { AuthUser } from '../core/actor.ts';
import type { Clock } from '../core/clock.ts';
import type { DbOrTx } from '../core/db.ts';
import { rowsOf } from '../db/rows.ts';
import { TICKET_TTL_S, type TicketHolder, type TicketStore } from './tickets.ts';

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');

/** The stored form of a ticket: its SHA-256, hex (the ticket itself is never stored). */
export async function ticketHash(ticket: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(ticket)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Issues a single-use, 60-second event-stream ticket that any process sharing the database accepts
 * (API.md sections 5 and 8). The row holds the ticket's hash and the user as authenticated (ids and token
 * claims: never a token).
 * @example c.json(await issueSharedTicket(db, { user }, clock.now()));
 */
export async function issueSharedTicket(
  db: DbOrTx,
  holder: TicketHolder,
  now: Date,
): Promise<{ ticket: string; expires_in: number }> {
  const ticket = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const expiresAt = new Date(now.getTime() + TICKET_TTL_S * 1000).toISOString();
  await db.execute(sql`INSERT INTO sse_tickets (ticket_hash, user_id, holder, expires_at)
    VALUES (${await ticketHash(ticket)}, ${holder.user.userId}, ${JSON.stringify({ user: holder.user })}::jsonb,
      ${expiresAt}::timestamptz)`);
  return { ticket, expires_in: TICKET_TTL_S };
}

/**
 * Uses a ticket up: deletes its row and returns what it stands for, or undefined when it is unknown, used
 * already (by this or another process: the delete decides) or expired.
 */
export async function consumeSharedTicket(
  db: DbOrTx,
  ticket: string,
  now: Date,
): Promise<TicketHolder | undefined> {
  const [row] = rowsOf<{ holder: unknown; expires_at: string | Date }>(
    await db.execute(sql`DELETE FROM sse_tickets WHERE ticket_hash = ${await ticketHash(ticket)}
      RETURNING holder, expires_at`),
  );
  if (!row || new Date(row.expires_at).getTime() <= now.getTime()) {
    return undefined;
  }
  const holder = (typeof row.holder === 'string' ? JSON.parse(row.holder) : row.holder) as TicketHolder;
  return { user: holder.user };
}

/** Deletes expired tickets (housekeeping); returns how many. */
export async function pruneSharedTickets(db: DbOrTx, now: Date): Promise<number> {
  const rows = rowsOf<{ n: number }>(
    await db.execute(sql`WITH gone AS (DELETE FROM sse_tickets WHERE expires_at <= ${now.toISOString()}::timestamptz
      RETURNING 1) SELECT count(*)::int AS n FROM gone`),
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * The `TicketStore` of every process: tickets in the database, so one issued here works on any process
 * sharing it. Issuing also deletes the expired ones.
 * @example deps.tickets = sharedTicketStore(database.db, clock);
 */
export function sharedTicketStore(db: DbOrTx, clock: Clock): TicketStore {
  return {
    async issue(user: AuthUser) {
      const now = clock.now();
      await pruneSharedTickets(db, now);
      return issueSharedTicket(db, { user }, now);
    },
    consume: (ticket: string) => consumeSharedTicket(db, ticket, clock.now()),
  };
}
