import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../scripts/tiny-model/write.ts';

// models/tiny-sd is now the trained model (scripts/train-tiny-sd); the random-weight builder's output,
// which unit tests use as an instant model, is checked for determinism instead.
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

  it('builds the same random model byte for byte twice, small', async () => {
    const out = await mkdtemp(join(tmpdir(), 'easel-tiny-'));
    const again = await mkdtemp(join(tmpdir(), 'easel-tiny-'));
    temps.push(out, again);
    const written = await writeTinyModel({ out, profile: 'tiny', layout: 'optimum' });
    await writeTinyModel({ out: again, profile: 'tiny', layout: 'optimum' });
    const files = await listFiles(out);
    expect(written).toEqual(files);
    expect(await listFiles(again)).toEqual(files);
    let total = 0;
    for (const file of files) {
      const [a, b] = await Promise.all([readFile(join(out, file)), readFile(join(again, file))]);
      expect(a.equals(b), file).toBe(true);
      total += a.length;
    }
    expect(total).toBeLessThan(1024 * 1024);
  });

  it('writes the same tokenizer files as the committed trained model', async () => {
    const out = await mkdtemp(join(tmpdir(), 'easel-tiny-'));
    temps.push(out);
    await writeTinyModel({ out, profile: 'tiny', layout: 'optimum' });
    for (const file of ['vocab.json', 'merges.txt', 'special_tokens_map.json', 'tokenizer_config.json']) {
      const [a, b] = await Promise.all([
        readFile(join(out, 'tokenizer', file)),
        readFile(join(COMMITTED, 'tokenizer', file)),
      ]);
      expect(a.equals(b), file).toBe(true);
    }
  });

  it('keeps the committed trained model within 20 MB', async () => {
    let total = 0;
    for (const file of await listFiles(COMMITTED)) {
      total += (await readFile(join(COMMITTED, file))).length;
    }
    expect(total).toBeLessThan(20 * 1024 * 1024);
  });
});
