import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { childEnv, projectRoot, runToExit } from './spawn.ts';

/**
 * A process whose last work is a derivation on the threads: the job keeps it alive until the answer, then the
 * idle thread lets it end by itself (bench:runtime hung after its table while a login's thread held it). The
 * unref'd 10 s timer is the witness: it fires only if something else still holds the event loop.
 */
const SCRIPT = `
import { Pbkdf2Threads } from '${join(projectRoot, 'src/node/pbkdf2-threads.ts')}';
const threads = new Pbkdf2Threads(2);
threads.derive('correct horse', new Uint8Array(16), 1000).then((bits) => {
  console.log('derived', bits.length);
  setTimeout(() => { console.log('still alive'); process.exit(3); }, 10_000).unref();
});
`;

describe('Pbkdf2Threads and the process lifetime', () => {
  test('a job in flight keeps the process alive; an idle thread does not', async () => {
    // A file, not `-e`: the thread's eval'd code must not inherit `--input-type=module`.
    const dir = await mkdtemp(join(tmpdir(), 'easel-pbkdf2-exit-'));
    const script = join(dir, 'derive-once.mts');
    await writeFile(script, SCRIPT);
    const run = await runToExit(process.execPath, ['--import', 'tsx', script], childEnv({})).finally(() =>
      rm(dir, { recursive: true, force: true }),
    );
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 0, stdout: 'derived 32\n' });
  });
});
