import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/db/pglite.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { ensurePgliteFolder } from '../../src/node/pglite-folder.ts';

// The embedded database's folder (docs/operations.md, "Memory"): created in a child process on the first
// start, and kept at `shared_buffers = '16MB'` (written for the next start when a folder has another value).
describe('the PGlite data folder', { timeout: 120_000 }, () => {
  const ctx = { root: '', folder: '' };

  beforeAll(async () => {
    ctx.root = await mkdtemp(join(tmpdir(), 'easel-pglite-'));
    ctx.folder = join(ctx.root, 'db');
  });
  afterAll(() => rm(ctx.root, { recursive: true, force: true }));

  async function sharedBuffers(): Promise<string> {
    const database = await openPglite(ctx.folder);
    try {
      const [row] = rowsOf<{ value: string }>(
        await database.db.execute(sql`SELECT current_setting('shared_buffers') AS value`),
      );
      return row?.value ?? 'none';
    } finally {
      await database.close();
    }
  }

  it('is created once, in a child process, with its settings', async () => {
    const logged: [string, Record<string, unknown>][] = [];
    await ensurePgliteFolder(ctx.folder, (msg, fields) => logged.push([msg, fields]));
    expect(logged).toEqual([['creating the embedded database (first start)', { folder: ctx.folder }]]);
    await access(join(ctx.folder, 'PG_VERSION'));
    expect(await readFile(join(ctx.folder, 'postgresql.auto.conf'), 'utf8')).toContain(
      "shared_buffers = '16MB'",
    );
    // A folder that exists is left as it is.
    await ensurePgliteFolder(ctx.folder, (msg, fields) => logged.push([msg, fields]));
    expect(logged).toHaveLength(1);
    expect(await sharedBuffers()).toBe('16MB');
  });

  it("a folder with PostgreSQL's default gets the setting at its next start", async () => {
    const old = new PGlite(ctx.folder);
    await old.exec('ALTER SYSTEM RESET shared_buffers');
    await old.close();
    // This start still runs with the default, and writes the setting for the next one.
    expect(await sharedBuffers()).toBe('128MB');
    expect(await sharedBuffers()).toBe('16MB');
  });
});
