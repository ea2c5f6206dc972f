import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import type { DbOrTx } from '../../src/core/db.ts';
import type { Database } from '../../src/db/types.ts';
import { IdentityCache } from '../../src/services/auth/identity-cache.ts';
import { deferred } from '../helpers/cluster.ts';
import { databaseTest as test } from '../helpers/fixtures.ts';

const it = test;

type Prepared = { execute(): Promise<unknown> };
type Session = { prepareQuery(query: { sql: string }, ...rest: unknown[]): Prepared };

/**
 * The database, seen through a session that records the text of every prepared statement and, when
 * `hold` is set, runs the next one at once but hands its result back only when released.
 */
function watched(db: DbOrTx) {
  const statements: string[] = [];
  let hold: { ran: () => void; release: Promise<void> } | undefined;
  const real = (db as unknown as { session: Session }).session;
  const session = new Proxy(real, {
    get(target, key) {
      if (key !== 'prepareQuery') {
        return Reflect.get(target, key);
      }
      return (query: { sql: string }, ...rest: unknown[]) => {
        statements.push(query.sql.trim().split(/\s+/).slice(0, 2).join(' '));
        const prepared = target.prepareQuery(query, ...rest);
        const held = hold;
        hold = undefined;
        if (!held) {
          return prepared;
        }
        return {
          async execute() {
            const result = await prepared.execute();
            held.ran();
            await held.release;
            return result;
          },
        };
      };
    },
  });
  const proxy = new Proxy(db, {
    // Without `$client`, PGlite's shortcut (queryPrepared) is not taken: every statement goes through `session`.
    get: (target, key) =>
      key === 'session' ? session : key === '$client' ? undefined : Reflect.get(target, key),
  }) as DbOrTx;
  return {
    db: proxy,
    statements,
    holdNext() {
      const ran = deferred();
      const release = deferred();
      hold = { ran: ran.resolve, release: release.promise };
      return { ran: ran.promise, release: release.resolve };
    },
  };
}

async function insertUser(database: Database, id: string) {
  await database.db.execute(sql`INSERT INTO users (user_id, email, display_name, password_hash)
    VALUES (${id}, ${`${id}@x`}, ${id}, 'x')`);
}

it('serves a cached identity after one version read; concurrent lookups share the reads', async ({
  database,
}) => {
  await insertUser(database, 'c1');
  const w = watched(database.db);
  const cache = new IdentityCache(w.db);
  const state = {
    userId: 'c1',
    email: 'c1@x',
    isAdmin: false,
    isActive: true,
    epoch: 0,
    sessionRevoked: false,
  };
  expect(await cache.lookup('c1', 'j1')).toEqual(state);
  expect(w.statements).toEqual(['SELECT v.version::text']); // the load
  w.statements.length = 0;
  expect(await cache.lookup('c1', 'j1')).toEqual(state);
  expect(w.statements).toEqual(['SELECT version::text']);
  w.statements.length = 0;
  // The first starts a read; the 49 others came in while it ran, so they share the next one.
  const all = await Promise.all(Array.from({ length: 50 }, () => cache.lookup('c1', 'j1')));
  expect(all).toEqual(Array.from({ length: 50 }, () => state));
  expect(w.statements).toEqual(['SELECT version::text', 'SELECT version::text']);
  expect(await cache.lookup('nobody', 'j1')).toBeUndefined();
  expect(cache.size).toBe(1);
});

it('a version read in flight when a revocation commits never answers a lookup that began after it', async ({
  database,
}) => {
  await insertUser(database, 'c2');
  const w = watched(database.db);
  const cache = new IdentityCache(w.db);
  expect((await cache.lookup('c2', 'j2'))?.epoch).toBe(0);
  // A lookup whose version read has run (before the revocation) but not yet answered.
  const held = w.holdNext();
  const before = cache.lookup('c2', 'j2');
  await held.ran;
  await database.db.execute(sql`UPDATE users SET epoch = epoch + 1 WHERE user_id = 'c2'`);
  const after = cache.lookup('c2', 'j2');
  held.release();
  // The lookup from before the revocation may see either state; the one from after sees it.
  expect((await before)?.epoch).toBe(0);
  expect((await after)?.epoch).toBe(1);
});

it('each kind of revocation changes the version, in the same transaction', async ({ database }) => {
  await insertUser(database, 'c3');
  const cache = new IdentityCache(database.db);
  const states = [];
  const revocations = [
    sql`INSERT INTO revoked_sessions (sid, user_id, expires_at) VALUES ('j3', 'c3', now() + interval '1 day')`,
    sql`UPDATE users SET is_admin = true WHERE user_id = 'c3'`,
    sql`UPDATE users SET email = 'c3b@x' WHERE user_id = 'c3'`,
    sql`UPDATE users SET epoch = 5 WHERE user_id = 'c3'`,
    sql`UPDATE users SET is_active = false WHERE user_id = 'c3'`,
    sql`DELETE FROM users WHERE user_id = 'c3'`,
  ];
  states.push(await cache.lookup('c3', 'j3'));
  for (const revoke of revocations) {
    await database.db.execute(revoke);
    states.push(await cache.lookup('c3', 'j3'));
  }
  const base = {
    userId: 'c3',
    email: 'c3@x',
    isAdmin: false,
    isActive: true,
    epoch: 0,
    sessionRevoked: false,
  };
  expect(states).toEqual([
    base,
    { ...base, sessionRevoked: true },
    { ...base, sessionRevoked: true, isAdmin: true },
    { ...base, sessionRevoked: true, isAdmin: true, email: 'c3b@x' },
    { ...base, sessionRevoked: true, isAdmin: true, email: 'c3b@x', epoch: 5 },
    { ...base, sessionRevoked: true, isAdmin: true, email: 'c3b@x', epoch: 5, isActive: false },
    undefined,
  ]);
});

it('a kept profile costs one shared version read; a write to users in any column ends it, a rolled-back one does not', async ({
  database,
}) => {
  await insertUser(database, 'c4');
  const w = watched(database.db);
  const cache = new IdentityCache(w.db);
  const first = await cache.profile('c4');
  expect(first).toEqual({
    userId: 'c4',
    email: 'c4@x',
    displayName: 'c4',
    isAdmin: false,
    isActive: true,
    epoch: 0,
    maxPending: null,
    createdAt: expect.any(Date),
    lastLoginAt: null,
  });
  expect(w.statements).toEqual(['SELECT v.users_version::text']); // the load
  w.statements.length = 0;
  expect(await cache.profile('c4')).toBe(first);
  expect(w.statements).toEqual(['SELECT version::text']);
  w.statements.length = 0;

  await database.db.execute(sql`UPDATE users SET display_name = 'Cee' WHERE user_id = 'c4'`);
  expect((await cache.profile('c4'))?.displayName).toBe('Cee');
  const login = new Date('2030-01-02T03:04:05.000Z');
  await database.db.execute(
    sql`UPDATE users SET last_login_at = ${login.toISOString()} WHERE user_id = 'c4'`,
  );
  expect((await cache.profile('c4'))?.lastLoginAt).toEqual(login);
  await database.db.execute(sql`UPDATE users SET max_pending = 7 WHERE user_id = 'c4'`);
  const kept = await cache.profile('c4');
  expect(kept?.maxPending).toBe(7);
  expect(w.statements).toEqual([
    'SELECT version::text',
    'SELECT v.users_version::text',
    'SELECT version::text',
    'SELECT v.users_version::text',
    'SELECT version::text',
    'SELECT v.users_version::text',
  ]);
  w.statements.length = 0;

  await database.db
    .transaction(async (tx) => {
      await tx.execute(sql`UPDATE users SET display_name = 'never' WHERE user_id = 'c4'`);
      throw new Error('rolled back');
    })
    .catch(() => {});
  expect(await cache.profile('c4')).toBe(kept);
  expect(w.statements).toEqual(['SELECT version::text']);
  expect(await cache.profile('nobody')).toBeUndefined();
});

it('a version read in flight when users is written never answers a profile asked for after it', async ({
  database,
}) => {
  await insertUser(database, 'c5');
  const w = watched(database.db);
  const cache = new IdentityCache(w.db);
  expect((await cache.profile('c5'))?.displayName).toBe('c5');
  const held = w.holdNext();
  const before = cache.profile('c5');
  await held.ran;
  await database.db.execute(sql`UPDATE users SET display_name = 'renamed' WHERE user_id = 'c5'`);
  const after = cache.profile('c5');
  held.release();
  expect((await before)?.displayName).toBe('c5');
  expect((await after)?.displayName).toBe('renamed');
});
