import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, readMigrations } from '../../src/db/migrate.ts';
import { openPglite } from '../../src/db/pglite.ts';
import { pgliteClientOf } from '../../src/db/pglite-notify.ts';
import type { Database } from '../../src/db/types.ts';
import { IdentityCache } from '../../src/services/auth/identity-cache.ts';
import { migrationsDir } from '../helpers/database.ts';

// On PGlite the identity cache takes auth_version's notification instead of reading the version
// (docs/adr/0008-identity-cache-with-a-database-version.md): a revocation must still hold for the very
// next lookup, whichever way it is written, and a cached identity must cost no query.
describe('the identity cache on PGlite', () => {
  let database: Database;
  const statements: string[] = [];
  beforeAll(async () => {
    database = await openPglite();
    await migrate(database.db, await readMigrations((p) => readFile(join(migrationsDir, p), 'utf8')));
    const client = pgliteClientOf(database.db);
    if (!client) {
      throw new Error('not PGlite');
    }
    await insertUser('probe');
    const query = client.query.bind(client);
    client.query = ((text: string, ...rest: unknown[]) => {
      statements.push(text.trim().split(/\s+/).slice(0, 2).join(' '));
      return (query as (...a: unknown[]) => unknown)(text, ...rest);
    }) as typeof client.query;
  });
  afterAll(() => database.close());

  async function insertUser(id: string) {
    await database.db.execute(sql`INSERT INTO users (user_id, email, display_name, password_hash)
      VALUES (${id}, ${`${id}@x`}, ${id}, 'x')`);
  }

  /** A cache that has confirmed its LISTEN: a cached identity costs no query (before, a version read). */
  async function listeningCache() {
    const cache = new IdentityCache(database.db);
    for (let i = 0; i < 100; i++) {
      await cache.lookup('probe', 's');
      statements.length = 0;
      await cache.lookup('probe', 's');
      if (statements.length === 0) {
        return cache;
      }
    }
    throw new Error('the cache never listened');
  }

  it('serves a cached identity with no query at all', async () => {
    await insertUser('p1');
    const cache = await listeningCache();
    expect((await cache.lookup('p1', 's1'))?.epoch).toBe(0);
    statements.length = 0;
    for (let i = 0; i < 10; i++) {
      expect((await cache.lookup('p1', 's1'))?.epoch).toBe(0);
    }
    expect(statements).toEqual([]);
  });

  it('sees each kind of revocation on the next lookup: a statement, a transaction, or SQL outside Drizzle', async () => {
    await insertUser('p2');
    const cache = await listeningCache();
    const client = pgliteClientOf(database.db);
    expect((await cache.lookup('p2', 's2'))?.sessionRevoked).toBe(false);
    await database.db.execute(
      sql`INSERT INTO revoked_sessions (sid, user_id, expires_at) VALUES ('s2', 'p2', now() + interval '1 day')`,
    );
    expect((await cache.lookup('p2', 's2'))?.sessionRevoked).toBe(true);
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`UPDATE users SET epoch = 3 WHERE user_id = 'p2'`);
    });
    expect((await cache.lookup('p2', 's2'))?.epoch).toBe(3);
    await client?.query(`UPDATE users SET is_admin = true WHERE user_id = 'p2'`);
    expect((await cache.lookup('p2', 's2'))?.isAdmin).toBe(true);
    await client?.exec(`BEGIN; UPDATE users SET is_active = false WHERE user_id = 'p2'; COMMIT;`);
    expect((await cache.lookup('p2', 's2'))?.isActive).toBe(false);
    await client?.query(`DELETE FROM users WHERE user_id = 'p2'`);
    expect(await cache.lookup('p2', 's2')).toBeUndefined();
  });

  it('a revocation that commits while an entry is being read leaves that entry stale', async () => {
    await insertUser('p3');
    const cache = await listeningCache();
    // The read and the revocation queue on PGlite's one connection; the read runs first.
    const reading = cache.lookup('p3', 's3');
    const revoking = database.db.execute(sql`UPDATE users SET epoch = 1 WHERE user_id = 'p3'`);
    expect((await reading)?.epoch).toBe(0);
    await revoking;
    expect((await cache.lookup('p3', 's3'))?.epoch).toBe(1);
  });

  it('a rolled-back revocation changes nothing, and the cache still answers from memory after it', async () => {
    await insertUser('p4');
    const cache = await listeningCache();
    expect((await cache.lookup('p4', 's4'))?.epoch).toBe(0);
    await expect(
      database.db.transaction(async (tx) => {
        await tx.execute(sql`UPDATE users SET epoch = 9 WHERE user_id = 'p4'`);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    statements.length = 0;
    expect((await cache.lookup('p4', 's4'))?.epoch).toBe(0);
    expect(statements).toEqual([]);
  });

  it('keeps a profile until a transaction writes users, whatever the column', async () => {
    await insertUser('p5');
    const cache = await listeningCache();
    const client = pgliteClientOf(database.db);
    for (let i = 0; i < 100 && (await cache.profile('p5')) !== undefined; i++) {
      statements.length = 0;
      await cache.profile('p5');
      if (statements.length === 0) {
        break;
      }
    }
    statements.length = 0;
    expect((await cache.profile('p5'))?.displayName).toBe('p5');
    expect(statements).toEqual([]);
    await database.db.execute(sql`UPDATE users SET display_name = 'Five' WHERE user_id = 'p5'`);
    expect((await cache.profile('p5'))?.displayName).toBe('Five');
    await client?.query(`UPDATE users SET last_login_at = '2030-01-02T03:04:05.678Z' WHERE user_id = 'p5'`);
    expect((await cache.profile('p5'))?.lastLoginAt?.toISOString()).toBe('2030-01-02T03:04:05.678Z');
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`UPDATE users SET max_pending = 7 WHERE user_id = 'p5'`);
    });
    expect((await cache.profile('p5'))?.maxPending).toBe(7);
    // A read in flight across a write answers as it read, but is not kept.
    const reading = cache.profile('p5');
    const writing = database.db.execute(sql`UPDATE users SET display_name = 'Cinq' WHERE user_id = 'p5'`);
    expect((await reading)?.displayName).toBe('Five');
    await writing;
    expect((await cache.profile('p5'))?.displayName).toBe('Cinq');
    await database.db.execute(sql`DELETE FROM users WHERE user_id = 'p5'`);
    expect(await cache.profile('p5')).toBeUndefined();
  });
});
