import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from '../../src/db/migrate.ts';
import { keepPgliteSettings } from '../../src/db/pglite.ts';
import { readMigrationsFromDir } from '../../src/node/migrations-fs.ts';
import { migrationsDir } from './database.ts';

interface Shared {
  value: Promise<unknown>;
  users: number;
  remove: (value: unknown) => Promise<void>;
}

/**
 * A value made once per `vitest run` and shared by the globalSetup of every project that asks for it. They all
 * run in vitest's main process but each project loads its own copy of this module, so the cache lives on
 * `globalThis`. The returned `release` removes the value once the last project that took it lets go.
 */
async function oncePerRun<T>(
  key: string,
  make: () => Promise<T>,
  remove: (value: T) => Promise<void>,
): Promise<{ value: T; release: () => Promise<void> }> {
  const holder = globalThis as { __easelOncePerRun?: Map<string, Shared> };
  holder.__easelOncePerRun ??= new Map();
  const all = holder.__easelOncePerRun;
  let shared = all.get(key);
  if (!shared) {
    shared = { value: make(), users: 0, remove: remove as Shared['remove'] };
    all.set(key, shared);
  }
  shared.users++;
  const value = (await shared.value) as T;
  const entry = shared;
  return {
    value,
    async release() {
      entry.users--;
      if (entry.users === 0) {
        all.delete(key);
        await entry.remove(value);
      }
    },
  };
}

/**
 * A tar file of a migrated, empty PGlite data directory (`dumpDataDir`): PGlite's first start (about 5 s of CPU)
 * and the migrations, paid once per run.
 */
export function migratedPgliteSnapshot() {
  return oncePerRun(
    'pglite-snapshot',
    async () => {
      const client = new PGlite();
      await client.waitReady;
      await migrate(drizzle({ client }), await readMigrationsFromDir(migrationsDir));
      const path = join(tmpdir(), `easel-pglite-snapshot-${process.pid}_${Date.now().toString(36)}.tar`);
      await writeFile(path, new Uint8Array(await (await client.dumpDataDir('none')).arrayBuffer()));
      await client.close();
      return path;
    },
    (path) => rm(path, { force: true }),
  );
}

/**
 * The same migrated database as an on-disk data directory (`root/db` is `DATA_DIR/db` of a server that never
 * ran), to copy. It holds on to the snapshot it was loaded from until it is removed itself.
 */
export function migratedPgliteDataDir() {
  return oncePerRun(
    'pglite-data-dir',
    async () => {
      const snapshot = await migratedPgliteSnapshot();
      const root = await mkdtemp(join(tmpdir(), 'easel-pglite-datadir-'));
      const client = new PGlite(join(root, 'db'), {
        loadDataDir: new Blob([await readFile(snapshot.value)]),
      });
      await client.waitReady;
      // As a server's first start leaves it (src/node/pglite-folder.ts): every copy starts with these.
      await keepPgliteSettings(client);
      await client.close();
      return { root, releaseSnapshot: snapshot.release };
    },
    async ({ root, releaseSnapshot }) => {
      await rm(root, { recursive: true, force: true });
      await releaseSnapshot();
    },
  );
}
