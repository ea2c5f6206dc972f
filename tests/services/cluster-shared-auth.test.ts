import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import {
  consumeSharedTicket,
  issueSharedTicket,
  pruneSharedTickets,
  ticketHash,
} from '../../src/channels/shared-tickets.ts';
import type { AuthUser } from '../../src/core/actor.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { ADDRESS_LIMIT, LoginRateLimiter } from '../../src/services/auth/login-rate-limiter.ts';
import { sharedLoginLimiter } from '../../src/services/auth/shared-login-limiter.ts';
import { databaseTest as test } from '../helpers/fixtures.ts';

const it = test;

const T = (s: number) => new Date(Date.parse('2026-12-01T12:00:00.000Z') + s * 1000);
const user: AuthUser = {
  userId: 'u1',
  email: 'u1@x',
  isAdmin: false,
  via: 'token',
  token: { sid: 's', exp: 9, epoch: 0, rememberMe: false },
};

test.beforeEach(async ({ database }) => {
  await database.db.execute(sql`TRUNCATE sse_tickets, login_failures`);
});

describe('shared tickets', () => {
  it('a ticket works once, on any process, within 60 s; only its hash and the claims are stored', async ({
    database,
  }) => {
    const { ticket, expires_in } = await issueSharedTicket(database.db, { user }, T(0));
    expect(expires_in).toBe(60);
    const stored = rowsOf<{ ticket_hash: string; user_id: string; holder: unknown }>(
      await database.db.execute(sql`SELECT ticket_hash, user_id, holder FROM sse_tickets`),
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]?.ticket_hash).toBe(await ticketHash(ticket));
    expect(stored[0]?.ticket_hash).not.toContain(ticket);
    // The user as authenticated, its token's claims (to check again on use), never a token.
    const holder = stored[0]?.holder;
    expect(typeof holder === 'string' ? JSON.parse(holder) : holder).toEqual({ user });
    expect(await consumeSharedTicket(database.db, ticket, T(59))).toEqual({ user });
    expect(await consumeSharedTicket(database.db, ticket, T(59))).toBeUndefined();
    expect(await consumeSharedTicket(database.db, 'nope', T(1))).toBeUndefined();
  });

  it('an expired ticket is refused; prune deletes the expired ones', async ({ database }) => {
    const a = await issueSharedTicket(database.db, { user }, T(0));
    await issueSharedTicket(database.db, { user }, T(30));
    expect(await consumeSharedTicket(database.db, a.ticket, T(60))).toBeUndefined();
    await issueSharedTicket(database.db, { user }, T(0));
    expect(await pruneSharedTickets(database.db, T(60))).toBe(1);
    const left = rowsOf<{ n: number }>(
      await database.db.execute(sql`SELECT count(*)::int AS n FROM sse_tickets`),
    );
    expect(left[0]?.n).toBe(1);
  });
});

describe('shared login limiter', () => {
  it('blocks a key after 5 failures in 15 minutes until the oldest leaves the window', async ({
    database,
  }) => {
    const key = LoginRateLimiter.key('A@x ', '1.2.3.4');
    for (let i = 0; i < 4; i++) {
      await sharedLoginLimiter.fail(database.db, key, T(i * 60));
    }
    expect(await sharedLoginLimiter.blockedFor(database.db, key, T(240))).toBe(0);
    await sharedLoginLimiter.fail(database.db, key, T(240));
    // Oldest failure at 0 s leaves the window at 900 s.
    expect(await sharedLoginLimiter.blockedFor(database.db, key, T(300))).toBe(600);
    expect(
      await sharedLoginLimiter.blockedFor(database.db, LoginRateLimiter.key('b@x', '1.2.3.4'), T(300)),
    ).toBe(0);
    expect(await sharedLoginLimiter.blockedFor(database.db, key, T(900))).toBe(0);
    expect(await sharedLoginLimiter.prune(database.db, T(900))).toBe(1);
    await sharedLoginLimiter.succeed(database.db, key);
    expect(await sharedLoginLimiter.prune(database.db, T(10_000))).toBe(0);
  });

  it('counts an address under its own key and limit (30 a minute), for every process on the database', async ({
    database,
  }) => {
    const address = LoginRateLimiter.addressKey('1.2.3.4');
    const accountKeys = Array.from({ length: 30 }, (_, i) => LoginRateLimiter.key(`u${i}@x`, '1.2.3.4'));
    const counts: number[] = [];
    for (const [i, key] of accountKeys.entries()) {
      await sharedLoginLimiter.fail(database.db, key, T(i));
      counts.push(await sharedLoginLimiter.fail(database.db, address, T(i), ADDRESS_LIMIT));
    }
    expect(counts).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // The oldest failure (0 s) leaves the minute at 60 s; no account key is blocked.
    expect(await sharedLoginLimiter.blockedFor(database.db, address, T(30), ADDRESS_LIMIT)).toBe(30);
    expect(await sharedLoginLimiter.blockedFor(database.db, accountKeys[0] as string, T(30))).toBe(0);
    expect(await sharedLoginLimiter.blockedFor(database.db, address, T(60), ADDRESS_LIMIT)).toBe(0);
    // A failure drops the key's failures that left its window: 29 of the 30 are still in it at 60.5 s.
    expect(await sharedLoginLimiter.fail(database.db, address, T(60.5), ADDRESS_LIMIT)).toBe(30);
  });
});
