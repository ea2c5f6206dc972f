import { describe, expect, it } from 'vitest';
import { Batch, expandBatch } from '../../src/queue/batch-expand.ts';
import { buildBatch } from '../../web/lib/graph.js';
import { graphContext } from '../helpers/graphs.ts';

// The browser's batch builder (web/lib/graph.js) against the server's own validation and expansion.
type GenerateValues = Parameters<typeof buildBatch>[0];
const form: GenerateValues = {
  model: 'tiny-sd',
  prompt: 'a red fox',
  negative: 'blurry',
  seed: 7,
  randomSeed: false,
  steps: 4,
  cfgScale: 7.5,
  width: 64,
  height: 64,
  scheduler: 'euler',
  runs: 1,
  vary: 'none',
  list: [],
  boardId: null,
};

function expand(values: GenerateValues) {
  const result = expandBatch(Batch.parse(buildBatch(values)), graphContext({ boards: ['b1'] }));
  if (!result.ok) {
    throw new Error(JSON.stringify(result.problems));
  }
  return result.sessions.map((s) => s.fieldValues);
}

describe('web/lib/graph.js buildBatch', () => {
  it('builds a graph the server accepts, with every form value in its node', () => {
    const batch = buildBatch({ ...form, boardId: 'b1' });
    expect(batch.runs).toBe(1);
    expect(batch.origin).toBe('easel-web');
    expect(batch.graph.nodes).toMatchObject({
      model: { model: { key: 'tiny-sd' } },
      positive: { prompt: 'a red fox' },
      negative: { prompt: 'blurry' },
      noise: { seed: 7, width: 64, height: 64 },
      denoise: { steps: 4, cfg_scale: 7.5, scheduler: 'euler' },
      l2i: { board: { board_id: 'b1' } },
    });
    expect('data' in batch).toBe(false);
    expect(expand({ ...form, boardId: 'b1' })).toEqual([[]]);
  });

  it('turns a list of prompts or seeds into one session each, blank lines dropped', () => {
    expect(expand({ ...form, vary: 'prompt', list: ['a cat', ' ', 'a dog '], runs: 2 })).toEqual([
      [{ node_path: 'positive', field_name: 'prompt', value: 'a cat' }],
      [{ node_path: 'positive', field_name: 'prompt', value: 'a dog' }],
      [{ node_path: 'positive', field_name: 'prompt', value: 'a cat' }],
      [{ node_path: 'positive', field_name: 'prompt', value: 'a dog' }],
    ]);
    expect(expand({ ...form, vary: 'seed', list: ['1', '2'] })).toEqual([
      [{ node_path: 'noise', field_name: 'seed', value: 1 }],
      [{ node_path: 'noise', field_name: 'seed', value: 2 }],
    ]);
  });

  it('gives every run its own seed when the seed is random', () => {
    const sessions = expand({ ...form, randomSeed: true, runs: 3 });
    expect(sessions).toHaveLength(3);
    const seeds = sessions.map((fv) => fv[0]?.value);
    expect(sessions.map((fv) => [fv.length, fv[0]?.node_path, fv[0]?.field_name])).toEqual([
      [1, 'noise', 'seed'],
      [1, 'noise', 'seed'],
      [1, 'noise', 'seed'],
    ]);
    expect(
      seeds.every((s) => Number.isInteger(s) && (s as number) >= 0 && (s as number) <= 2 ** 32 - 1),
    ).toBe(true);
  });
});
