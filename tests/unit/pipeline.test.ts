import { describe, expect, it } from 'vitest';
import type { DiffusionModel, ModelManifest, Tensor } from '../../src/runtime/model.ts';
import {
  DenoiseCanceled,
  type DenoiseParams,
  type DenoiseStep,
  decodeLatents,
  denoise,
  encodeImage,
  encodePrompt,
  makeNoise,
  previewRgb,
} from '../../src/runtime/pipeline.ts';
import { alphasCumprod, createSampler, SD1_SCHEDULE, sigmaAt } from '../../src/runtime/samplers.ts';

const manifest: ModelManifest = {
  key: 'fake',
  name: 'Fake',
  base: 'sd-1',
  description: '',
  latent_channels: 4,
  vae_scale_factor: 8,
  scaling_factor: 0.5,
  timestep_spacing: 'trailing',
};

interface Call {
  batch: number;
  timestep: number;
  context: number[];
}

/** ε is each batch item's context value (the first of its row), so guidance is easy to follow. */
function fakeModel() {
  const calls: Call[] = [];
  const decoded: Tensor[] = [];
  const model: DiffusionModel = {
    manifest,
    tokenize: (text) => new Int32Array(77).fill(text.length),
    encodeText: async (rows) => ({
      data: Float32Array.from(
        { length: rows.length * 77 * 2 },
        (_, i) => (rows[Math.floor(i / 154)]?.[0] ?? 0) + 0.5,
      ),
      dims: [rows.length, 77, 2],
    }),
    async predictNoise(sample, timestep, context) {
      const batch = sample.dims[0] ?? 0;
      const per = sample.data.length / batch;
      const ctx = Array.from({ length: batch }, (_, b) => context.data[b * 154] ?? Number.NaN);
      calls.push({ batch, timestep, context: ctx });
      return {
        data: Float32Array.from(sample.data, (_, i) => ctx[Math.floor(i / per)] ?? 0),
        dims: sample.dims,
      };
    },
    async decode(latents) {
      decoded.push(latents);
      const [, , h = 0, w = 0] = latents.dims;
      return {
        data: Float32Array.from({ length: 3 * 64 * h * w }, (_, i) => [-1, 0, 1][i % 3] ?? 0),
        dims: [1, 3, 8 * h, 8 * w],
      };
    },
    release: async () => {},
  };
  return { model, calls, decoded };
}

const ctx = (value: number): Tensor => ({ data: new Float32Array(154).fill(value), dims: [1, 77, 2] });
const params = (over: Partial<DenoiseParams> = {}): DenoiseParams => ({
  positive: ctx(1),
  negative: ctx(0),
  noise: makeNoise(3, 16, 16, manifest),
  steps: 4,
  cfgScale: 7.5,
  scheduler: 'euler',
  denoisingStart: 0,
  denoisingEnd: 1,
  seed: 3,
  ...over,
});

describe('encodePrompt and makeNoise', () => {
  it('encodes one tokenized prompt', async () => {
    const { model } = fakeModel();
    const emb = await encodePrompt(model, 'abc');
    expect(emb.dims).toEqual([1, 77, 2]);
    expect(emb.data[0]).toBe(3.5);
  });

  it('makes deterministic latent-sized N(0,1) noise', () => {
    const a = makeNoise(42, 64, 128, manifest);
    expect(a.dims).toEqual([1, 4, 16, 8]);
    expect(makeNoise(42, 64, 128, manifest).data).toEqual(a.data);
    expect(makeNoise(43, 64, 128, manifest).data).not.toEqual(a.data);
    const big = makeNoise(1, 512, 512, manifest).data;
    const mean = big.reduce((s, v) => s + v, 0) / big.length;
    const variance = big.reduce((s, v) => s + (v - mean) ** 2, 0) / big.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(variance).toBeGreaterThan(0.97);
    expect(variance).toBeLessThan(1.03);
    expect(() => makeNoise(1, 60, 64, manifest)).toThrow(RangeError);
  });
});

describe('denoise', () => {
  it('runs one UNet call per step at batch 2 with [negative, positive] and reports 1-based steps', async () => {
    const { model, calls } = fakeModel();
    const steps: DenoiseStep[] = [];
    await denoise(model, params(), { onStep: (s) => void steps.push(s) });
    expect(calls.map((c) => c.timestep)).toEqual([999, 749, 499, 249]);
    expect(calls.every((c) => c.batch === 2 && c.context[0] === 0 && c.context[1] === 1)).toBe(true);
    expect(steps.map((s) => [s.step, s.totalSteps])).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
    // ε = 0 + 7.5·(1 − 0) everywhere; the first x0 is noise·σ0 − σ0·7.5.
    const s0 = sigmaAt(alphasCumprod(SD1_SCHEDULE), 999);
    const noise = params().noise.data;
    expect(steps[0]?.x0.data[5]).toBeCloseTo((noise[5] ?? 0) * s0 - s0 * 7.5, 3);
    expect(steps[0]?.x0.dims).toEqual([1, 4, 2, 2]);
  });

  it('runs without guidance at cfg ≤ 1: batch 1 on the positive embedding', async () => {
    const { model, calls } = fakeModel();
    await denoise(model, params({ cfgScale: 1 }));
    expect(calls.map((c) => [c.batch, ...c.context])).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
  });

  it('stops before the next UNet call when canceled', async () => {
    const { model, calls } = fakeModel();
    let done = 0;
    const run = denoise(model, params(), { onStep: () => void done++, isCanceled: () => done >= 2 });
    await expect(run).rejects.toBeInstanceOf(DenoiseCanceled);
    expect(calls).toHaveLength(2);
  });

  it('runs only the steps in [denoising_start, denoising_end)', async () => {
    const late = fakeModel();
    const steps: number[] = [];
    await denoise(late.model, params({ denoisingStart: 0.5 }), {
      onStep: (s) => void steps.push(s.totalSteps),
    });
    expect(late.calls.map((c) => c.timestep)).toEqual([499, 249]);
    expect(steps).toEqual([2, 2]);
    const early = fakeModel();
    await denoise(early.model, params({ denoisingEnd: 0.5 }));
    expect(early.calls.map((c) => c.timestep)).toEqual([999, 749]);
    const none = fakeModel();
    const out = await denoise(none.model, params({ denoisingStart: 0.7, denoisingEnd: 0.7 }));
    expect(none.calls).toHaveLength(0);
    expect(out.data.every((v) => v === 0)).toBe(true);
  });

  it('is deterministic per seed for every scheduler, and ancestral noise depends on the seed', async () => {
    for (const scheduler of ['euler', 'euler_a', 'ddim', 'lcm'] as const) {
      const a = await denoise(fakeModel().model, params({ scheduler }));
      const b = await denoise(fakeModel().model, params({ scheduler }));
      expect(b.data).toEqual(a.data);
      expect(a.data.every(Number.isFinite)).toBe(true);
    }
    const a = await denoise(fakeModel().model, params({ scheduler: 'euler_a' }));
    const c = await denoise(fakeModel().model, params({ scheduler: 'euler_a', seed: 4 }));
    expect(c.data).not.toEqual(a.data);
    const e1 = await denoise(fakeModel().model, params({ scheduler: 'euler' }));
    const e2 = await denoise(fakeModel().model, params({ scheduler: 'euler', seed: 4 }));
    expect(e2.data).toEqual(e1.data);
  });

  it('rejects embeddings whose batch differs from the noise', async () => {
    const two: Tensor = { data: new Float32Array(308), dims: [2, 77, 2] };
    await expect(denoise(fakeModel().model, params({ positive: two }))).rejects.toThrow(RangeError);
  });
});

describe('image-to-image', () => {
  const latents = (): Tensor => ({
    data: Float32Array.from({ length: 16 }, (_, i) => i / 8 - 1),
    dims: [1, 4, 2, 2],
  });

  it('starts from the latents noised to the first step run, and runs only the steps after denoising_start', async () => {
    for (const scheduler of ['euler', 'euler_a', 'ddim', 'lcm'] as const) {
      const { model, calls } = fakeModel();
      const steps: DenoiseStep[] = [];
      await denoise(model, params({ scheduler, latents: latents(), denoisingStart: 0.5 }), {
        onStep: (s) => void steps.push(s),
      });
      const sampler = createSampler(scheduler, 4, { ...SD1_SCHEDULE, spacing: 'trailing' });
      expect(calls.map((c) => c.timestep)).toEqual(sampler.timesteps.slice(2));
      expect(steps.map((s) => [s.step, s.totalSteps])).toEqual([
        [1, 2],
        [2, 2],
      ]);
      // The first x0 is the sampler's step from addNoise(2, latents, noise).
      const start = sampler.addNoise(2, latents().data, params().noise.data);
      const { x0 } = sampler.step(2, start, new Float32Array(16).fill(7.5), new Float32Array(16));
      expect(Array.from(steps[0]?.x0.data ?? [])).toEqual(Array.from(x0));
    }
  });

  it('with denoising_start 0 it denoises the whole schedule; with nothing to run it returns the latents', async () => {
    const full = fakeModel();
    await denoise(full.model, params({ latents: latents() }));
    expect(full.calls.map((c) => c.timestep)).toEqual([999, 749, 499, 249]);
    const none = fakeModel();
    const out = await denoise(
      none.model,
      params({ latents: latents(), denoisingStart: 0.7, denoisingEnd: 0.7 }),
    );
    expect(none.calls).toHaveLength(0);
    expect(Array.from(out.data)).toEqual(Array.from(latents().data));
  });

  it('rejects latents whose shape differs from the noise', async () => {
    const big: Tensor = { data: new Float32Array(64), dims: [1, 4, 4, 4] };
    await expect(denoise(fakeModel().model, params({ latents: big }))).rejects.toThrow(
      'latents [1, 4, 4, 4] and noise [1, 4, 2, 2] must have the same shape',
    );
  });

  it('encodeImage: HWC bytes → NCHW in [-1, 1] through the encoder, times the scaling factor', async () => {
    const { model } = fakeModel();
    const seen: Tensor[] = [];
    model.encode = async (image) => {
      seen.push(image);
      return { data: new Float32Array(4).fill(2), dims: [1, 4, 1, 1] };
    };
    const rgb = Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => [0, 255, 51][i % 3] ?? 0);
    const out = await encodeImage(model, rgb, 8, 8);
    expect(seen[0]?.dims).toEqual([1, 3, 8, 8]);
    expect([seen[0]?.data[0], seen[0]?.data[64], seen[0]?.data[128]]).toEqual([
      -1,
      1,
      Math.fround(51 / 127.5 - 1),
    ]);
    expect(out).toEqual({ data: new Float32Array(4).fill(1), dims: [1, 4, 1, 1] });
    await expect(encodeImage(model, rgb, 4, 4)).rejects.toThrow(RangeError);
    delete model.encode;
    await expect(encodeImage(model, rgb, 8, 8)).rejects.toThrow('model fake has no VAE encoder');
  });
});

describe('decodeLatents and previewRgb', () => {
  it('divides by the scaling factor and maps [-1, 1] to bytes, HWC', async () => {
    const { model, decoded } = fakeModel();
    const latents: Tensor = { data: new Float32Array(16).fill(0.25), dims: [1, 4, 2, 2] };
    const img = await decodeLatents(model, latents);
    expect(decoded[0]?.data[0]).toBe(0.5);
    expect([img.width, img.height, img.rgb.length]).toEqual([16, 16, 768]);
    // CHW values cycle −1, 0, 1 (planes of 256): pixel 0 = data[0, 256, 512] = (−1, 0, 1), pixel 1 = (0, 1, −1).
    expect(Array.from(img.rgb.slice(0, 6))).toEqual([0, 128, 255, 128, 255, 0]);
  });

  it('projects x0 with the SD 1.5 latent→RGB factors', () => {
    const x0: Tensor = { data: Float32Array.from([1, 0, 0, 0, 0, 0, 0, 1]), dims: [1, 4, 1, 2] };
    const { rgb, width, height } = previewRgb(x0, manifest);
    expect([width, height]).toEqual([2, 1]);
    // pixel 0: channel 0 = 1 → (0.3444, 0.1385, 0.067); pixel 1: channel 3 = 1 → (−0.1307, −0.1874, −0.7445)
    expect(Array.from(rgb)).toEqual([171, 145, 136, 111, 104, 33]);
  });
});
