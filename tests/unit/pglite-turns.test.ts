import { setImmediate } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite, takeTurns } from '../../src/db/pglite.ts';
import { pgliteClientOf } from '../../src/db/pglite-notify.ts';
import type { Database } from '../../src/db/types.ts';

/** Counts the event loop's turns: a callback that schedules itself with `setImmediate` until stopped. */
function countTurns(): { readonly count: number; stop(): void } {
  let count = 0;
  let running = true;
  const tick = () => {
    count++;
    if (running) {
      globalThis.setImmediate(tick);
    }
  };
  globalThis.setImmediate(tick);
  return {
    get count() {
      return count;
    },
    stop: () => {
      running = false;
    },
  };
}

/** The turn count before each of four queries of one transaction, and once after the commit. */
async function turnsSeenByATransaction(database: Database): Promise<number[]> {
  const turns = countTurns();
  const seen: number[] = [];
  await database.db.transaction(async (tx) => {
    for (let i = 0; i < 4; i++) {
      seen.push(turns.count);
      await tx.execute(sql`SELECT ${i}::int AS i`);
    }
  });
  seen.push(turns.count);
  turns.stop();
  return seen;
}

// src/db/pglite.ts `takeTurns`: PGlite answers a query as a microtask, so a transaction's queries would run
// as one task of the event loop; the server opens it taking a macrotask turn before each query. One database
// (opening one takes seconds): first as PGlite gives it, then taking turns.
describe('PGlite queries taking turns with the event loop', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openPglite();
  });
  afterAll(() => database.close());

  it('without turns, a transaction runs as one task: no other callback runs between its queries', async () => {
    const seen = await turnsSeenByATransaction(database);
    expect(seen).toEqual(Array(5).fill(seen[0]));
  });

  it('with turns, other callbacks run before each query of a transaction, and it still commits', async () => {
    const client = pgliteClientOf(database.db);
    if (!client) {
      throw new Error('not PGlite');
    }
    takeTurns(client, () => setImmediate());
    await database.db.execute(sql`CREATE TABLE t (n int)`);
    const seen = await turnsSeenByATransaction(database);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]).toBeGreaterThan(seen[i - 1] as number);
    }
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`INSERT INTO t VALUES (1)`);
      await tx.execute(sql`INSERT INTO t VALUES (2)`);
    });
    await expect(
      database.db.transaction(async (tx) => {
        await tx.execute(sql`INSERT INTO t VALUES (3)`);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await database.db.execute(sql`SELECT n FROM t ORDER BY n`)).toMatchObject({
      rows: [{ n: 1 }, { n: 2 }],
    });
  });
});
