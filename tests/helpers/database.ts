import { readFile } from 'node:fs/promises';
import { setImmediate } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pglite';
import postgres from 'postgres';
import { inject } from 'vitest';
import type { Db } from '../../src/core/db.ts';
import { migrate } from '../../src/db/migrate.ts';
import { takeTurns } from '../../src/db/pglite.ts';
import { pgliteNotifier } from '../../src/db/pglite-notify.ts';
import type { Database } from '../../src/db/types.ts';
import { readMigrationsFromDir } from '../../src/node/migrations-fs.ts';
import { openPostgres } from '../../src/node/postgres-client.ts';

export const PG_ADMIN_URL = process.env.EASEL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const migrationsDir = new URL('../../drizzle', import.meta.url).pathname;

/** Which driver this vitest project runs on. */
export const testDriver = (): 'pglite' | 'postgres' =>
  process.env.EASEL_TEST_DB === 'postgres' ? 'postgres' : 'pglite';

/** The URL of database `name` on the test server. */
export function pgUrlFor(name: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * The migrated PGlite data directory that `tests/helpers/global-setup.ts` wrote, read once per worker: the
 * read is kept in `snapshot.blob` (a holder, not a file-level `let`; tests/unit/test-files.test.ts).
 */
const snapshot: { blob?: Promise<Blob | null> } = {};
function pgliteSnapshot(): Promise<Blob | null> {
  snapshot.blob ??= (async () => {
    const path = inject('pgliteSnapshot');
    return path ? new Blob([await readFile(path)]) : null;
  })();
  return snapshot.blob;
}

/**
 * A fresh, migrated database of its own: an in-memory PGlite loaded from the migrated snapshot (or one an
 * earlier file of this worker released and `resetToMigrated` put back), or a new PostgreSQL database copied
 * from the migrated template, which `close` drops. Outside the pglite/postgres projects (no snapshot or
 * template provided) it migrates an empty database instead.
 */
export async function openTestDatabase(driver = testDriver()): Promise<Database> {
  if (driver === 'pglite') {
    return openPgliteTestDatabase();
  }
  const template = inject('pgTemplate');
  const name = `easel_t_${crypto.randomUUID().replaceAll('-', '')}`;
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(template ? `CREATE DATABASE ${name} TEMPLATE ${template}` : `CREATE DATABASE ${name}`);
  const database = openPostgres(pgUrlFor(name), { max: 4 });
  if (!template) {
    await migrate(database.db, await readMigrationsFromDir(migrationsDir));
  }
  return {
    ...database,
    async close() {
      await database.close();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/**
 * PGlite databases that files of this worker closed, already reset to the migrated state. Loading a snapshot
 * costs about 1.1 s of CPU (the data directory and PostgreSQL's start), resetting one a few milliseconds; the
 * pglite project runs files with `isolate: false`, so this list outlives each file.
 */
const released: { client: PGlite; baseline: Baseline }[] = [];
/** How many PGlite databases this worker handed out again, and how many wait (tests/services/test-database.test.ts). */
export const pglitePool = { reused: 0, idle: () => released.length };

async function openPgliteTestDatabase(): Promise<Database> {
  const reused = released.pop();
  if (reused) {
    pglitePool.reused++;
  }
  const client = reused?.client ?? (await loadMigratedPglite());
  const baseline = reused?.baseline ?? (await readBaseline(client));
  // PGlite's `unlisten(channel)` keeps the callbacks; each listen's own stop removes its callback.
  const listening = new Set<() => Promise<void>>();
  const notifier = pgliteNotifier(client);
  let closing: Promise<void> | undefined;
  return {
    db: drizzle({ client }),
    driver: 'pglite',
    notifier: {
      ...notifier,
      async listen(channel, onPayload, onListen) {
        const stop = await notifier.listen(channel, onPayload, onListen);
        listening.add(stop);
        return async () => {
          listening.delete(stop);
          await stop();
        };
      },
    },
    close() {
      closing ??= (async () => {
        for (const stop of listening) {
          await stop();
        }
        if (await resetToMigrated(client, baseline)) {
          released.push({ client, baseline });
        } else {
          await client.close();
        }
      })();
      return closing;
    },
  };
}

async function loadMigratedPglite(): Promise<PGlite> {
  const loadDataDir = await pgliteSnapshot();
  const client = new PGlite(loadDataDir ? { loadDataDir } : {});
  await client.waitReady;
  // As the server opens it (src/node/boot.ts): the route and service tests run the queries as it does.
  takeTurns(client, () => setImmediate());
  if (!loadDataDir) {
    await migrate(drizzle({ client }), await readMigrationsFromDir(migrationsDir));
  }
  return client;
}

/** What a just-migrated database holds: its schema's fingerprint, its tables, the rows and sequence values the migrations wrote. */
interface Baseline {
  fingerprint: string;
  tables: string[];
  rows: { table: string; json: string }[];
  sequences: { name: string; value: string; called: boolean }[];
}

const FINGERPRINT = `
  SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) AS f FROM (
    SELECT format('%s.%s:%s:%s:%s', n.nspname, c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod)) AS x
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
    UNION ALL SELECT format('proc:%s.%s', n.nspname, p.proname)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    UNION ALL SELECT format('trigger:%s:%s', tgrelid::regclass, tgname) FROM pg_trigger WHERE NOT tgisinternal
  ) s`;

async function readBaseline(client: PGlite): Promise<Baseline> {
  const tables = (
    await client.query<{ t: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1`,
    )
  ).rows.map((r) => r.t);
  const rows: Baseline['rows'] = [];
  for (const table of tables) {
    const { rows: found } = await client.query<{ json: string | null }>(
      `SELECT json_agg(t)::text AS json FROM ${table} t`,
    );
    if (found[0]?.json) {
      rows.push({ table, json: found[0].json });
    }
  }
  const sequences = (
    await client.query<{ name: string; value: string | null; start: string }>(
      `SELECT format('%I.%I', schemaname, sequencename) AS name, last_value::text AS value, start_value::text AS start
         FROM pg_sequences ORDER BY 1`,
    )
  ).rows.map((s) => ({ name: s.name, value: s.value ?? s.start, called: s.value !== null }));
  const fingerprint = (await client.query<{ f: string }>(FINGERPRINT)).rows[0]?.f ?? '';
  return { fingerprint, tables, rows, sequences };
}

/**
 * Puts a released database back to what `baseline` saw just after migrating: the session's state dropped
 * (listens, advisory locks, settings, temporary tables), every table emptied and the migrations' rows and
 * sequence values restored. False (the caller closes it) where a file changed the schema or a step failed.
 */
async function resetToMigrated(client: PGlite, baseline: Baseline): Promise<boolean> {
  try {
    await client.exec('DISCARD ALL');
    if ((await client.query<{ f: string }>(FINGERPRINT)).rows[0]?.f !== baseline.fingerprint) {
      return false;
    }
    await client.transaction(async (tx) => {
      if (baseline.tables.length > 0) {
        await tx.exec(`TRUNCATE ${baseline.tables.join(', ')} RESTART IDENTITY CASCADE`);
      }
      // The migrations' rows go back as they were, without firing triggers a second time.
      await tx.exec('SET LOCAL session_replication_role = replica');
      for (const { table, json } of baseline.rows) {
        await tx.query(
          `INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1::json)`,
          [json],
        );
      }
      for (const s of baseline.sequences) {
        await tx.query('SELECT setval($1::regclass, $2::bigint, $3)', [s.name, s.value, s.called]);
      }
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `statement` so that the kept reads of `QueueReadCache` are not told of it (what proves a later answer
 * is a kept one): on PGlite with the trigger's notice off, on PostgreSQL in a transaction whose triggers do
 * not fire (`session_replication_role = replica`), so migration 0013's slots stay as they were.
 * @example await writeUnannounced(h.db, sql`UPDATE images SET starred = true`);
 */
export async function writeUnannounced(db: Db, statement: SQL): Promise<void> {
  if (testDriver() === 'pglite') {
    await db.execute(sql`SET easel.notify_queue_changes = 'off'`);
    try {
      await db.execute(statement);
    } finally {
      await db.execute(sql`SET easel.notify_queue_changes = 'on'`);
    }
    return;
  }
  await db.transaction(async (tx) => {
    await tx.execute(sql`SET LOCAL session_replication_role = replica`);
    await tx.execute(statement);
  });
}
