import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/rows.ts';
import { openPostgres } from '../../src/node/postgres-client.ts';
import { PG_ADMIN_URL } from '../helpers/database.ts';

const settings = async (url: string) => {
  const database = openPostgres(url);
  try {
    return rowsOf<{ jit: string; app: string }>(
      await database.db.execute(sql`SELECT current_setting('jit') AS jit,
        current_setting('application_name') AS app`),
    )[0];
  } finally {
    await database.close();
  }
};

// Easel's statements are short: JIT off spares them a compile whenever an estimate is far off
// (src/node/postgres-client.ts); the URL's own parameters still win.
describe('openPostgres', () => {
  it('connects with JIT off, as application easel', async () => {
    expect(await settings(PG_ADMIN_URL)).toEqual({ jit: 'off', app: 'easel' });
  });

  it('lets the URL set them', async () => {
    const url = new URL(PG_ADMIN_URL);
    url.searchParams.set('jit', 'on');
    url.searchParams.set('application_name', 'easel-worker-2');
    expect(await settings(url.toString())).toEqual({ jit: 'on', app: 'easel-worker-2' });
  });
});
