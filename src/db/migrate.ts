import { sql } from 'drizzle-orm';
import type { Db } from '../core/db.ts';
import { rowsOf } from './rows.ts';

/** One migration file from `drizzle/`, as read by the runtime's file reader. */
export interface MigrationFile {
  tag: string;
  sql: string;
}

interface Journal {
  entries: { idx: number; tag: string }[];
}

/**
 * Reads the migrations in journal order with a runtime-supplied file reader, so the same code works on
 * Node and Deno.
 * @example const files = await readMigrations((p) => readFile(join('drizzle', p), 'utf8'));
 */
export async function readMigrations(
  read: (relativePath: string) => Promise<string>,
): Promise<MigrationFile[]> {
  const journal = JSON.parse(await read('meta/_journal.json')) as Journal;
  const sorted = [...journal.entries].sort((a, b) => a.idx - b.idx);
  return Promise.all(sorted.map(async (e) => ({ tag: e.tag, sql: await read(`${e.tag}.sql`) })));
}

/**
 * Applies the migrations not yet applied, each in its own transaction, on either driver. A PostgreSQL
 * advisory lock keeps two processes from migrating at once. Returns the tags it applied.
 * @example await migrate(db, await readMigrations(read));
 */
export async function migrate(db: Db, files: MigrationFile[]): Promise<string[]> {
  const applied: string[] = [];
  await db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(7311)`);
    // Under the lock: two processes running `CREATE TABLE IF NOT EXISTS` at once on an empty database both
    // try to create the table's type, and one fails (`duplicate key … pg_type_typname_nsp_index`).
    await tx.execute(
      sql`CREATE TABLE IF NOT EXISTS easel_migrations (tag text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const rows = await tx.execute<{ tag: string }>(sql`SELECT tag FROM easel_migrations`);
    const done = new Set(rowsOf<{ tag: string }>(rows).map((r) => r.tag));
    for (const file of files) {
      if (done.has(file.tag)) {
        continue;
      }
      for (const statement of file.sql.split('--> statement-breakpoint')) {
        if (statement.trim()) {
          await tx.execute(sql.raw(statement));
        }
      }
      await tx.execute(sql`INSERT INTO easel_migrations (tag) VALUES (${file.tag})`);
      applied.push(file.tag);
    }
  });
  return applied;
}
