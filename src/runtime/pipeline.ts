/**
 * Text-to-image and image-to-image on any `DiffusionModel`: prompt encoding, seeded noise, VAE encoding,
 * the denoising loop with classifier-free guidance, VAE decoding and latent previews. Portable (no Node APIs).
 */
import type { DiffusionModel, ModelManifest, Tensor } from './model.ts';
import { createRng, randn } from './rng.ts';
import { createSampler, type SamplerName, SD1_SCHEDULE, stepRange } from './samplers.ts';

/** The inputs of one `denoise_latents` run. */
export interface DenoiseParams {
  positive: Tensor;
  negative: Tensor;
  noise: Tensor;
  steps: number;
  cfgScale: number;
  scheduler: SamplerName;
  denoisingStart: number;
  denoisingEnd: number;
  seed: number;
  /**
   * Starting latents (scaled, as `encodeImage` gives them; the noise's shape): the run starts from them
   * noised to its first step's level instead of from pure noise, which is image-to-image.
   */
  latents?: Tensor;
}

/** Progress after a step: `step` is 1-based, `x0` the denoised estimate (unscaled latents). */
export interface DenoiseStep {
  step: number;
  totalSteps: number;
  x0: Tensor;
}

export interface DenoiseHooks {
  onStep?: (s: DenoiseStep) => void | Promise<void>;
  isCanceled?: () => boolean;
}

/** Thrown by `denoise` when `isCanceled()` says so before a UNet call. */
export class DenoiseCanceled extends Error {
  constructor() {
    super('denoising canceled');
    this.name = 'DenoiseCanceled';
  }
}

/**
 * The text embedding of one prompt, `[1, 77, d]`.
 * @example const positive = await encodePrompt(model, 'a red fox');
 */
export async function encodePrompt(model: DiffusionModel, prompt: string): Promise<Tensor> {
  return model.encodeText([model.tokenize(prompt)]);
}

/**
 * Standard-normal latent noise `[1, c, height/f, width/f]` from a seed (see `rng.ts`: not torch's generator).
 * @example const noise = makeNoise(42, 512, 512, model.manifest); // dims [1, 4, 64, 64]
 */
export function makeNoise(seed: number, width: number, height: number, manifest: ModelManifest): Tensor {
  const f = manifest.vae_scale_factor;
  if (width % f !== 0 || height % f !== 0) {
    throw new RangeError(`width and height must be multiples of ${f}`);
  }
  const dims = [1, manifest.latent_channels, height / f, width / f];
  return {
    data: randn(
      seed,
      dims.reduce((a, b) => a * b, 1),
    ),
    dims,
  };
}

const STEP_NOISE_SALT = 0x9e3779b9;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function concat(a: Tensor, b: Tensor): Tensor {
  const data = new Float32Array(a.data.length + b.data.length);
  data.set(a.data);
  data.set(b.data, a.data.length);
  return { data, dims: [(a.dims[0] ?? 1) + (b.dims[0] ?? 1), ...a.dims.slice(1)] };
}

/**
 * Runs the schedule's steps in `[denoisingStart, denoisingEnd)` (InvokeAI's rule, see `stepRange`) from
 * empty latents plus `noise` at the first step's level, or from `latents` noised to that level (the
 * sampler's `addNoise`, as diffusers' img2img and InvokeAI do), and returns the final latents. With `cfgScale > 1`
 * every step is one UNet call at batch 2b on `[negative, positive]`, `ε = ε_u + g·(ε_t − ε_u)`. Ancestral
 * and LCM steps draw their fresh noise from `seed`. Checks `isCanceled()` before every UNet call.
 * @example const latents = await denoise(model, { positive, negative, noise, steps: 20, cfgScale: 7.5,
 *   scheduler: 'euler', denoisingStart: 0, denoisingEnd: 1, seed: 42 }, { onStep: (s) => send(s) });
 */
export async function denoise(
  model: DiffusionModel,
  p: DenoiseParams,
  hooks: DenoiseHooks = {},
): Promise<Tensor> {
  const spacing = model.manifest.timestep_spacing ?? SD1_SCHEDULE.spacing;
  const sampler = createSampler(p.scheduler, p.steps, { ...SD1_SCHEDULE, spacing });
  const [from, to] = stepRange(sampler.timesteps, p.denoisingStart, p.denoisingEnd, SD1_SCHEDULE.trainSteps);
  const dims = p.noise.dims;
  const guided = p.cfgScale > 1;
  if (!sameShape(p.positive.dims, p.negative.dims) || p.positive.dims[0] !== dims[0]) {
    throw new RangeError('positive, negative and noise must have the same batch');
  }
  const context = guided ? concat(p.negative, p.positive) : p.positive;
  let x: Float32Array;
  if (p.latents) {
    if (!sameShape(p.latents.dims, dims)) {
      throw new RangeError(
        `latents [${p.latents.dims.join(', ')}] and noise [${dims.join(', ')}] must have the same shape`,
      );
    }
    x = from < to ? sampler.addNoise(from, p.latents.data, p.noise.data) : p.latents.data.slice();
  } else {
    const level = from < to ? sampler.noiseLevel(from) : 0;
    x = p.noise.data.map((v) => v * level);
  }
  const stepRng = createRng((p.seed ^ STEP_NOISE_SALT) >>> 0);
  for (let i = from; i < to; i++) {
    if (hooks.isCanceled?.()) {
      throw new DenoiseCanceled();
    }
    const scale = sampler.inputScale(i);
    const input: Tensor = { data: x.map((v) => v * scale), dims };
    const t = sampler.timesteps[i] as number;
    const out = await model.predictNoise(guided ? concat(input, input) : input, t, context);
    const eps = guided ? guide(out.data, p.cfgScale) : out.data;
    const noise = sampler.stochastic
      ? Float32Array.from({ length: x.length }, () => stepRng.normal())
      : undefined;
    const { prev, x0 } = sampler.step(i, x, eps, noise);
    x = prev;
    await hooks.onStep?.({ step: i - from + 1, totalSteps: to - from, x0: { data: x0, dims } });
  }
  return { data: x, dims };
}

function guide(both: Float32Array, g: number): Float32Array {
  const n = both.length / 2;
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const u = both[k] as number;
    out[k] = u + g * ((both[n + k] as number) - u);
  }
  return out;
}

/**
 * Scaled latents `[1, c, height/f, width/f]` of an HWC RGB image: `[-1, 1]` NCHW through the VAE encoder,
 * then `· scaling_factor`, as diffusers' img2img does (with the distribution's mean, so it is
 * deterministic). The image must already have the wanted size.
 * @example const latents = await encodeImage(model, rgb, 512, 512); // dims [1, 4, 64, 64]
 */
export async function encodeImage(
  model: DiffusionModel,
  rgb: Uint8Array,
  width: number,
  height: number,
): Promise<Tensor> {
  if (!model.encode) {
    throw new TypeError(`model ${model.manifest.key} has no VAE encoder (vae_encoder/model.onnx)`);
  }
  const plane = width * height;
  if (rgb.length !== plane * 3) {
    throw new RangeError(`expected ${plane * 3} RGB bytes for ${width}×${height}, got ${rgb.length}`);
  }
  const data = new Float32Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      data[c * plane + i] = (rgb[i * 3 + c] as number) / 127.5 - 1;
    }
  }
  const latents = await model.encode({ data, dims: [1, 3, height, width] });
  const k = model.manifest.scaling_factor;
  return { data: latents.data.map((v) => v * k), dims: latents.dims };
}

const toByte = (v: number) => Math.min(255, Math.max(0, Math.round(v)));

/**
 * The first image of a latent batch as HWC RGB bytes: `latents / scaling_factor` through the VAE, then
 * `clip(x/2 + 0.5, 0, 1)·255`.
 * @example const { rgb, width, height } = await decodeLatents(model, latents);
 */
export async function decodeLatents(
  model: DiffusionModel,
  latents: Tensor,
): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const k = 1 / model.manifest.scaling_factor;
  const image = await model.decode({ data: latents.data.map((v) => v * k), dims: latents.dims });
  const [, , height = 0, width = 0] = image.dims;
  const plane = width * height;
  const rgb = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      rgb[i * 3 + c] = toByte(((image.data[c * plane + i] as number) / 2 + 0.5) * 255);
    }
  }
  return { rgb, width, height };
}

/** InvokeAI's SD 1.5 latent→RGB factors: rows are latent channels, columns R, G, B. */
const PREVIEW_FACTORS = [
  [0.3444, 0.1385, 0.067],
  [0.1247, 0.4027, 0.1494],
  [-0.3192, 0.2513, 0.2103],
  [-0.1307, -0.1874, -0.7445],
];

/**
 * A latent-sized HWC RGB preview of an x0 estimate (first batch item), `(Σ x·factor + 1)·127.5`.
 * @example const { rgb } = previewRgb(step.x0, model.manifest); // 64×64 for a 512² image
 */
export function previewRgb(
  x0: Tensor,
  manifest: ModelManifest,
): { rgb: Uint8Array; width: number; height: number } {
  const [, , height = 0, width = 0] = x0.dims;
  const plane = width * height;
  const channels = Math.min(manifest.latent_channels, PREVIEW_FACTORS.length);
  const rgb = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let l = 0; l < channels; l++) {
        v += (x0.data[l * plane + i] as number) * ((PREVIEW_FACTORS[l] as number[])[c] as number);
      }
      rgb[i * 3 + c] = toByte((v + 1) * 127.5);
    }
  }
  return { rgb, width, height };
}
