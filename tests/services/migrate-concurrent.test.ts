import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { readMigrationsFromDir } from '../../src/node/migrations-fs.ts';
import { openPostgres } from '../../src/node/postgres-client.ts';
import { migrationsDir, PG_ADMIN_URL, pgUrlFor, testDriver } from '../helpers/database.ts';

// Several processes started together on an empty database (API.md section 8) all migrate it at once.
describe.runIf(testDriver() === 'postgres')('migrations from several processes at once', () => {
  it('apply once, whoever comes first, and none of them fails', async () => {
    const name = `easel_m_${crypto.randomUUID().replaceAll('-', '')}`;
    const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const clients = [0, 1, 2].map(() => openPostgres(pgUrlFor(name), { max: 1 }));
    try {
      const files = await readMigrationsFromDir(migrationsDir);
      const applied = await Promise.all(clients.map((c) => migrate(c.db, files)));
      expect(applied.flat().sort()).toEqual(files.map((f) => f.tag).sort());
      const [check] = clients;
      expect(await check?.db.execute('SELECT count(*)::int AS n FROM easel_migrations')).toMatchObject([
        { n: files.length },
      ]);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});
