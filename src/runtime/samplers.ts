import { z } from 'zod';
/**
 * The SD 1.x noise schedule and four samplers, written after diffusers' `EulerDiscreteScheduler`,
 * `EulerAncestralDiscreteScheduler`, `DDIMScheduler` and `LCMScheduler` (epsilon prediction, no Karras
 * sigmas, DDIM with eta 0). Each sampler works on flat float32 latents; the pipeline does the batching.
 */

/** The samplers that `denoise_latents`' `scheduler` field names (API.md section 3). */
export const SAMPLER_NAMES = ['euler', 'euler_a', 'ddim', 'lcm'] as const;
export const SamplerName = z.enum(SAMPLER_NAMES);
export type SamplerName = z.infer<typeof SamplerName>;

/** diffusers' `timestep_spacing`. */
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

/** The parts of a diffusers `scheduler_config.json` the samplers read. */
export interface ScheduleConfig {
  trainSteps: number;
  betaStart: number;
  betaEnd: number;
  stepsOffset: number;
  spacing: TimestepSpacing;
}

/** Stable Diffusion 1.5's `scheduler/scheduler_config.json` (scaled_linear betas; `leading` is the default). */
export const SD1_SCHEDULE: ScheduleConfig = {
  trainSteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  stepsOffset: 1,
  spacing: 'leading',
};

/** LCMScheduler's defaults: the distillation's 50-step grid and the boundary-condition scaling. */
const LCM_ORIGINAL_STEPS = 50;
const LCM_TIMESTEP_SCALING = 10;
const LCM_SIGMA_DATA = 0.5;

/**
 * `ᾱ_t = Π(1 − β)` for `β = linspace(√β_start, √β_end, T)²` (diffusers' `scaled_linear`), in float64.
 * @example alphasCumprod(SD1_SCHEDULE)[999]; // ≈ 0.004660
 */
export function alphasCumprod(cfg: ScheduleConfig): Float64Array {
  const n = cfg.trainSteps;
  const a = Math.sqrt(cfg.betaStart);
  const b = Math.sqrt(cfg.betaEnd);
  const out = new Float64Array(n);
  let prod = 1;
  for (let i = 0; i < n; i++) {
    const root = n === 1 ? a : a + ((b - a) * i) / (n - 1);
    prod *= 1 - root * root;
    out[i] = prod;
  }
  return out;
}

const at = (arr: ArrayLike<number>, i: number): number => arr[i] as number;

/**
 * `σ(t) = √((1 − ᾱ_t)/ᾱ_t)`, linearly interpolated between integer timesteps (`np.interp`).
 * @example sigmaAt(alphasCumprod(SD1_SCHEDULE), 999); // ≈ 14.6146
 */
export function sigmaAt(ac: Float64Array, t: number): number {
  const sigma = (i: number) => Math.sqrt((1 - at(ac, i)) / at(ac, i));
  const lo = Math.max(0, Math.min(ac.length - 1, Math.floor(t)));
  const hi = Math.min(ac.length - 1, lo + 1);
  const f = Math.min(1, Math.max(0, t - lo));
  return sigma(lo) * (1 - f) + sigma(hi) * f;
}

/**
 * The UNet timesteps of an `n`-step schedule, highest first, as diffusers' `set_timesteps` gives them
 * (`leading`: `arange(n)·(T//n) + offset`; `trailing`: `round(arange(T, 0, −T/n)) − 1`; `linspace`:
 * `linspace(0, T−1, n)`, kept fractional as Euler does).
 * @example spacedTimesteps(4, { ...SD1_SCHEDULE, spacing: 'trailing' }); // [999, 749, 499, 249]
 */
export function spacedTimesteps(n: number, cfg: ScheduleConfig): number[] {
  const T = cfg.trainSteps;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (cfg.spacing === 'leading') {
      out.push(i * Math.floor(T / n) + cfg.stepsOffset);
    } else if (cfg.spacing === 'trailing') {
      out.push(Math.round(T - (i * T) / n) - 1);
    } else {
      out.push(n === 1 ? 0 : ((T - 1) * i) / (n - 1));
    }
  }
  return cfg.spacing === 'trailing' ? out : out.reverse();
}

/**
 * LCMScheduler's timesteps: `n` picks (`floor(linspace(0, 50, n, endpoint=False))`) from the reversed
 * 50-step grid `[999, 979, …, 19]`.
 * @example lcmTimesteps(4, SD1_SCHEDULE); // [999, 759, 499, 259]
 */
export function lcmTimesteps(n: number, cfg: ScheduleConfig): number[] {
  if (n > LCM_ORIGINAL_STEPS) {
    throw new RangeError(`lcm runs at most ${LCM_ORIGINAL_STEPS} steps`);
  }
  const k = Math.floor(cfg.trainSteps / LCM_ORIGINAL_STEPS);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const idx = Math.floor((i * LCM_ORIGINAL_STEPS) / n);
    out.push((LCM_ORIGINAL_STEPS - idx) * k - 1);
  }
  return out;
}

/** One sampler step: the next latents and the denoised estimate x0 (unscaled latents). */
export interface StepResult {
  prev: Float32Array;
  x0: Float32Array;
}

/** A sampler over a whole `n`-step schedule; `i` indexes `timesteps`. */
export interface Sampler {
  /** The UNet timestep of each step, highest first. */
  readonly timesteps: readonly number[];
  /** Whether `step` needs fresh unit noise (ancestral and LCM). */
  readonly stochastic: boolean;
  /** What unit noise is multiplied by to start at step `i` from empty latents (diffusers' `add_noise`). */
  noiseLevel(i: number): number;
  /**
   * diffusers' `add_noise` at step `i`'s timestep: starting latents noised to that point of the schedule
   * (`x + σ·noise` for Euler, `√ᾱ·x + √(1−ᾱ)·noise` for DDIM and LCM), for image-to-image.
   */
  addNoise(i: number, latents: Float32Array, noise: Float32Array): Float32Array;
  /** What the latents are multiplied by before the UNet (`scale_model_input`). */
  inputScale(i: number): number;
  /** `step(model_output = eps, timestep_i, sample)`; `noise` is required when `stochastic`. */
  step(i: number, sample: Float32Array, eps: Float32Array, noise?: Float32Array): StepResult;
}

/**
 * A sampler as diffusers' scheduler of that name configured from `cfg` (LCM ignores `spacing`; DDIM rounds
 * `linspace` timesteps to integers as diffusers does).
 * @example const s = createSampler('euler', 20); s.timesteps[0]; // 951 (leading)
 */
export function createSampler(name: SamplerName, steps: number, cfg = SD1_SCHEDULE): Sampler {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError('steps must be a positive integer');
  }
  const ac = alphasCumprod(cfg);
  if (name === 'euler' || name === 'euler_a') {
    return eulerSampler(ac, spacedTimesteps(steps, cfg), name === 'euler_a');
  }
  if (name === 'ddim') {
    return ddimSampler(ac, spacedTimesteps(steps, cfg).map(Math.round), Math.floor(cfg.trainSteps / steps));
  }
  return lcmSampler(ac, lcmTimesteps(steps, cfg));
}

function eulerSampler(ac: Float64Array, timesteps: number[], ancestral: boolean): Sampler {
  const sigmas = [...timesteps.map((t) => sigmaAt(ac, t)), 0];
  const sigma = (i: number) => at(sigmas, i);
  return {
    timesteps,
    stochastic: ancestral,
    noiseLevel: sigma,
    addNoise: (i, latents, noise) => mix(latents, 1, noise, sigma(i)),
    inputScale: (i) => 1 / Math.sqrt(sigma(i) ** 2 + 1),
    step(i, sample, eps, noise) {
      const s = sigma(i);
      const next = sigma(i + 1);
      let down = next;
      let up = 0;
      if (ancestral) {
        up = Math.sqrt((next ** 2 * (s ** 2 - next ** 2)) / s ** 2);
        down = Math.sqrt(next ** 2 - up ** 2);
      }
      const dt = down - s;
      const n = up > 0 ? requireNoise(noise) : undefined;
      const x0 = new Float32Array(sample.length);
      const prev = new Float32Array(sample.length);
      for (let k = 0; k < sample.length; k++) {
        const e = at(eps, k);
        x0[k] = at(sample, k) - s * e;
        prev[k] = at(sample, k) + e * dt + (n ? up * at(n, k) : 0);
      }
      return { prev, x0 };
    },
  };
}

function ddimSampler(ac: Float64Array, timesteps: number[], stride: number): Sampler {
  const alphaPrev = (t: number) => (t - stride >= 0 ? at(ac, t - stride) : at(ac, 0));
  return {
    timesteps,
    stochastic: false,
    noiseLevel: (i) => Math.sqrt(1 - at(ac, at(timesteps, i))),
    addNoise: (i, latents, noise) => addNoiseAt(ac, at(timesteps, i), latents, noise),
    inputScale: () => 1,
    step(i, sample, eps) {
      const t = at(timesteps, i);
      const a = at(ac, t);
      const ap = alphaPrev(t);
      const x0 = new Float32Array(sample.length);
      const prev = new Float32Array(sample.length);
      for (let k = 0; k < sample.length; k++) {
        const e = at(eps, k);
        const x = (at(sample, k) - Math.sqrt(1 - a) * e) / Math.sqrt(a);
        x0[k] = x;
        prev[k] = Math.sqrt(ap) * x + Math.sqrt(1 - ap) * e;
      }
      return { prev, x0 };
    },
  };
}

function lcmSampler(ac: Float64Array, timesteps: number[]): Sampler {
  return {
    timesteps,
    stochastic: true,
    noiseLevel: (i) => Math.sqrt(1 - at(ac, at(timesteps, i))),
    addNoise: (i, latents, noise) => addNoiseAt(ac, at(timesteps, i), latents, noise),
    inputScale: () => 1,
    step(i, sample, eps, noise) {
      const t = at(timesteps, i);
      const last = i === timesteps.length - 1;
      const a = at(ac, t);
      const ap = last ? a : at(ac, at(timesteps, i + 1));
      const scaled = t * LCM_TIMESTEP_SCALING;
      const cSkip = LCM_SIGMA_DATA ** 2 / (scaled ** 2 + LCM_SIGMA_DATA ** 2);
      const cOut = scaled / Math.sqrt(scaled ** 2 + LCM_SIGMA_DATA ** 2);
      const n = last ? undefined : requireNoise(noise);
      const x0 = new Float32Array(sample.length);
      const prev = new Float32Array(sample.length);
      for (let k = 0; k < sample.length; k++) {
        const x = at(sample, k);
        const denoised = cOut * ((x - Math.sqrt(1 - a) * at(eps, k)) / Math.sqrt(a)) + cSkip * x;
        x0[k] = denoised;
        prev[k] = n ? Math.sqrt(ap) * denoised + Math.sqrt(1 - ap) * at(n, k) : denoised;
      }
      return { prev, x0 };
    },
  };
}

/** `a·x + b·noise`, element by element. */
function mix(x: Float32Array, a: number, noise: Float32Array, b: number): Float32Array {
  if (x.length !== noise.length) {
    throw new RangeError('latents and noise must have the same size');
  }
  return x.map((v, k) => a * v + b * at(noise, k));
}

/** DDPM's forward process at timestep `t`: `√ᾱ_t·x + √(1 − ᾱ_t)·noise`. */
function addNoiseAt(ac: Float64Array, t: number, x: Float32Array, noise: Float32Array): Float32Array {
  return mix(x, Math.sqrt(at(ac, t)), noise, Math.sqrt(1 - at(ac, t)));
}

function requireNoise(noise: Float32Array | undefined): Float32Array {
  if (!noise) {
    throw new TypeError('this sampler needs noise for every step');
  }
  return noise;
}

/**
 * The `[from, to)` indexes of the schedule to run for `denoising_start`/`denoising_end`, as InvokeAI's
 * `init_scheduler`: skip timesteps `≥ round(T·(1 − start))`, then keep those `≥ round(T·(1 − end))`.
 * @example stepRange([999, 749, 499, 249], 0.5, 1, 1000); // [2, 4]
 */
export function stepRange(
  timesteps: readonly number[],
  start: number,
  end: number,
  trainSteps: number,
): [number, number] {
  const startVal = Math.round(trainSteps * (1 - start));
  const endVal = Math.round(trainSteps * (1 - end));
  const from = timesteps.filter((t) => t >= startVal).length;
  const to = from + timesteps.slice(from).filter((t) => t >= endVal).length;
  return [from, to];
}
