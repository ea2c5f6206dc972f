import { describe, expect, it } from 'vitest';
import { Batch, expandBatch } from '../../src/queue/batch-expand.ts';
import { applyReuse, INITIAL_FORM, toGenerateValues } from '../../web/lib/form-values.js';
import { sessionValues } from '../../web/lib/format.js';
import { batchSeeds, buildBatch } from '../../web/lib/graph.js';
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

describe('web/lib/graph.js image-to-image', () => {
  it('encodes the starting image into the denoiser, which starts at 1 − strength', () => {
    const batch = buildBatch({ ...form, initImage: 'start.png', strength: 0.7 });
    expect(batch.graph.nodes).toMatchObject({
      i2l: { type: 'i2l', image: { image_name: 'start.png' } },
      denoise: { denoising_start: 0.3, denoising_end: 1 },
    });
    expect(batch.graph.edges).toEqual(
      expect.arrayContaining([
        { source: { node_id: 'model', field: 'vae' }, destination: { node_id: 'i2l', field: 'vae' } },
        {
          source: { node_id: 'i2l', field: 'latents' },
          destination: { node_id: 'denoise', field: 'latents' },
        },
      ]),
    );
    const result = expandBatch(Batch.parse(batch), graphContext({ images: ['start.png'] }));
    expect(result.ok).toBe(true);
    expect(sessionValues({ graph: batch.graph })).toContainEqual(['strength', '0.7']);
    expect(sessionValues({ graph: buildBatch(form).graph }).map(([k]) => k)).not.toContain('strength');
    expect('i2l' in buildBatch(form).graph.nodes).toBe(false);
  });
});

describe('web/lib/form-values.js', () => {
  const filled = { ...INITIAL_FORM, model: 'tiny-sd', prompt: 'a red circle on a blue background' };
  const values = (form: typeof filled) => {
    const made = toGenerateValues(form);
    if ('error' in made) {
      throw new Error(made.error);
    }
    return made.values;
  };

  it('takes one prompt per line of the one prompt box in batch mode, and reports the seeds used', () => {
    const form = {
      ...filled,
      vary: 'prompt' as const,
      randomize: false,
      seed: '9',
      prompt: 'a red circle\n\n a blue square ',
    };
    const batch = buildBatch(values(form));
    expect(batch.graph.nodes.positive.prompt).toBe('a red circle');
    expect(expand(values(form))).toEqual([
      [{ node_path: 'positive', field_name: 'prompt', value: 'a red circle' }],
      [{ node_path: 'positive', field_name: 'prompt', value: 'a blue square' }],
    ]);
    expect(batchSeeds(batch)).toEqual([9]);
    const random = buildBatch(values({ ...filled, runs: '3' }));
    const seeds = batchSeeds(random);
    expect(seeds).toHaveLength(3);
    expect(expand(values({ ...filled, vary: 'seed', seeds: '5\n6' })).map((fv) => fv[0]?.value)).toEqual([
      5, 6,
    ]);
    expect(toGenerateValues({ ...filled, prompt: ' \n ', vary: 'prompt' })).toEqual({
      error: 'Enter a prompt.',
    });
  });

  it("fills the form from an image's settings, seed included, or from its seed only", () => {
    const image = {
      image_name: 'x.png',
      metadata: {
        model: 'tiny-sd',
        prompt: 'a green square',
        negative_prompt: '',
        seed: 77,
        steps: 6,
        cfg_scale: 5,
        scheduler: 'ddim',
        width: 64,
        height: 64,
      },
    } as unknown as Parameters<typeof applyReuse>[1]['image'];
    const batchForm = { ...INITIAL_FORM, prompt: 'old', negative: 'blurry', vary: 'prompt' as const };
    expect(applyReuse(batchForm, { kind: 'settings', image })).toMatchObject({
      prompt: 'a green square',
      negative: 'blurry',
      seed: '77',
      randomize: false,
      steps: '6',
      cfgScale: '5',
      scheduler: 'ddim',
      width: '64',
      height: '64',
      vary: 'none',
    });
    expect(applyReuse(batchForm, { kind: 'seed', image })).toEqual({
      ...batchForm,
      seed: '77',
      randomize: false,
    });
    expect(applyReuse(batchForm, { kind: 'start', image })).toEqual({ ...batchForm, initImage: image });
    const sized = { ...image, width: 64, height: 128 };
    expect(applyReuse(batchForm, { kind: 'start', image: sized })).toEqual({
      ...batchForm,
      initImage: sized,
      width: '64',
      height: '128',
    });
    expect(toGenerateValues({ ...filled, initImage: sized, strength: 0.4 })).toMatchObject({
      values: { initImage: 'x.png', strength: 0.4 },
    });
  });
});
