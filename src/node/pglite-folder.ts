import { fork } from 'node:child_process';
import { once } from 'node:events';
import { access } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Creates the embedded database's folder if it has none yet, in a child process: `initdb` and a first start
 * with PostgreSQL's defaults take ~750 MB of WASM memory, which the server would keep for its whole life
 * (WebAssembly memory never shrinks). The server then opens a folder that starts small.
 * @example await ensurePgliteFolder(join(env.DATA_DIR, 'db'), logger);
 */
export async function ensurePgliteFolder(
  dataDir: string,
  log: (msg: string, fields: Record<string, unknown>) => void,
): Promise<void> {
  if (await exists(join(dataDir, 'PG_VERSION'))) {
    return;
  }
  log('creating the embedded database (first start)', { folder: dataDir });
  const child = fork(new URL('./pglite-folder-child.ts', import.meta.url), [dataDir], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  if (code !== 0) {
    throw new Error(`creating the embedded database in ${dataDir} failed (exit ${code ?? signal})`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
