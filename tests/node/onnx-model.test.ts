import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../scripts/tiny-model/write.ts';
import { loadDiffusionModel, readModelManifest } from '../../src/node/onnx-model.ts';
import type { DiffusionModel } from '../../src/runtime/model.ts';
import { decodeLatents, denoise, encodePrompt, makeNoise } from '../../src/runtime/pipeline.ts';
import type { SamplerName } from '../../src/runtime/samplers.ts';

const quiet = { executionProvider: 'cpu' as const, warn: () => {}, threads: 1 };

async function generate(model: DiffusionModel, prompt: string, seed: number, scheduler: SamplerName) {
  const latents = await denoise(model, {
    positive: await encodePrompt(model, prompt),
    negative: await encodePrompt(model, ''),
    noise: makeNoise(seed, 64, 64, model.manifest),
    steps: 2,
    cfgScale: 7.5,
    scheduler,
    denoisingStart: 0,
    denoisingEnd: 1,
    seed,
  });
  return decodeLatents(model, latents);
}

const meanAbsDiff = (a: Uint8Array, b: Uint8Array) =>
  a.reduce((s, v, i) => s + Math.abs(v - (b[i] ?? 0)), 0) / a.length;

// The random-weight model of scripts/build-tiny-model.ts (models/tiny-sd is the trained one, see
// trained-model.test.ts): these tests check the loader, not the pictures.
describe('loadDiffusionModel on the random-weight tiny model', () => {
  let model: DiffusionModel;
  let random: string;
  const temps: string[] = [];
  beforeAll(async () => {
    random = await mkdtemp(join(tmpdir(), 'easel-random-'));
    temps.push(random);
    await writeTinyModel({ out: join(random, 'tiny-sd'), profile: 'tiny', layout: 'optimum' });
    model = await loadDiffusionModel(join(random, 'tiny-sd'), quiet);
  });
  afterAll(async () => {
    await model.release();
    await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('reads model.json and the tokenizer', () => {
    expect(model.manifest).toEqual({
      key: 'tiny-sd',
      name: 'Tiny SD (test model)',
      base: 'sd-1',
      description: expect.stringContaining('random weights'),
      latent_channels: 4,
      vae_scale_factor: 8,
      scaling_factor: 0.18215,
      timestep_spacing: 'leading',
    });
    expect(Array.from(model.tokenize('a red fox').slice(0, 5))).toEqual([895, 320, 604, 651, 896]);
  });

  it('runs the three parts with the declared shapes', async () => {
    const emb = await model.encodeText([model.tokenize('a'), model.tokenize('b')]);
    expect(emb.dims).toEqual([2, 77, 32]);
    const sample = makeNoise(1, 96, 64, model.manifest);
    const eps = await model.predictNoise(sample, 500, {
      data: emb.data.slice(0, 77 * 32),
      dims: [1, 77, 32],
    });
    expect(eps.dims).toEqual([1, 4, 8, 12]);
    const image = await model.decode(sample);
    expect(image.dims).toEqual([1, 3, 64, 96]);
    expect(image.data.every((v) => v >= -1 && v <= 1)).toBe(true);
  });

  it('makes the same bytes twice, and other bytes for another prompt or seed, with every scheduler', async () => {
    for (const scheduler of ['euler', 'euler_a', 'ddim', 'lcm'] as const) {
      const a = await generate(model, 'a red fox in the forest', 1, scheduler);
      const again = await generate(model, 'a red fox in the forest', 1, scheduler);
      expect(Buffer.from(again.rgb).equals(Buffer.from(a.rgb)), scheduler).toBe(true);
      expect([a.width, a.height]).toEqual([64, 64]);
      const mean = a.rgb.reduce((s, v) => s + v, 0) / a.rgb.length;
      expect(mean, scheduler).toBeGreaterThan(40);
      expect(mean, scheduler).toBeLessThan(215);
      const prompt = await generate(model, 'a blue robot in the city', 1, scheduler);
      const seed = await generate(model, 'a red fox in the forest', 2, scheduler);
      expect(meanAbsDiff(a.rgb, prompt.rgb), `${scheduler} prompt`).toBeGreaterThan(20);
      expect(meanAbsDiff(a.rgb, seed.rgb), `${scheduler} seed`).toBeGreaterThan(20);
    }
  });

  it('adapts to the diffusers-script layout (int32 ids, timestep [b]) with identical results', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'easel-script-'));
    temps.push(dir);
    await writeTinyModel({ out: dir, profile: 'tiny', layout: 'script' });
    const script = await loadDiffusionModel(dir, quiet);
    try {
      const a = await generate(model, 'a cat', 5, 'euler');
      const b = await generate(script, 'a cat', 5, 'euler');
      expect(Buffer.from(b.rgb).equals(Buffer.from(a.rgb))).toBe(true);
    } finally {
      await script.release();
    }
  });

  it('derives the manifest from model_index.json and the folder name when model.json is absent', async () => {
    const root = await mkdtemp(join(tmpdir(), 'easel-index-'));
    temps.push(root);
    const dir = join(root, 'my-export');
    await writeTinyModel({ out: dir, profile: 'tiny', layout: 'optimum' });
    await rm(join(dir, 'model.json'));
    expect(await readModelManifest(dir)).toEqual({
      key: 'my-export',
      name: 'my-export',
      base: 'sd-1',
      description: '',
      latent_channels: 4,
      vae_scale_factor: 8,
      scaling_factor: 0.18215,
      timestep_spacing: 'leading',
    });
    await rm(join(dir, 'model_index.json'));
    await expect(readModelManifest(dir)).rejects.toThrow(/neither model.json nor model_index.json/);
  });

  it('falls back to CPU with a warning when CUDA cannot start', async () => {
    const warnings: unknown[] = [];
    const m = await loadDiffusionModel(join(random, 'tiny-sd'), {
      ...quiet,
      executionProvider: 'cuda',
      warn: (msg, fields) => void warnings.push([msg, fields]),
    });
    try {
      // Named without trying: onnxruntime's own attempt prints red error lines to the test output.
      expect(warnings).toEqual([
        [
          'CUDA execution provider unavailable, using CPU',
          {
            error:
              "libonnxruntime_providers_shared.so is not installed (onnxruntime-node's install script, which downloads it, was skipped; docs/operations.md)",
          },
        ],
      ]);
      expect((await m.encodeText([m.tokenize('x')])).dims).toEqual([1, 77, 32]);
    } finally {
      await m.release();
    }
  });
});
