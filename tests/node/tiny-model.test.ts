import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../scripts/tiny-model/write.ts';

const COMMITTED = 'models/tiny-sd';

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('scripts/build-tiny-model.ts', () => {
  const temps: string[] = [];
  afterAll(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

  it('rebuilds the committed models/tiny-sd byte for byte', async () => {
    const out = await mkdtemp(join(tmpdir(), 'easel-tiny-'));
    temps.push(out);
    const written = await writeTinyModel({ out, profile: 'tiny', layout: 'optimum' });
    const committed = await listFiles(COMMITTED);
    expect(await listFiles(out)).toEqual(committed);
    expect(written).toEqual(committed);
    for (const file of committed) {
      const [a, b] = await Promise.all([readFile(join(out, file)), readFile(join(COMMITTED, file))]);
      expect(a.equals(b), file).toBe(true);
    }
  });

  it('keeps the committed model small', async () => {
    let total = 0;
    for (const file of await listFiles(COMMITTED)) {
      total += (await readFile(join(COMMITTED, file))).length;
    }
    expect(total).toBeLessThan(1024 * 1024);
  });
});
