import { describe, expect, it } from 'vitest';
import {
  alphasCumprod,
  createSampler,
  lcmTimesteps,
  SAMPLER_NAMES,
  SD1_SCHEDULE,
  sigmaAt,
  spacedTimesteps,
  stepRange,
} from '../../src/runtime/samplers.ts';

// References computed here from the formulas of diffusers' schedulers (scheduling_euler_discrete.py,
// scheduling_euler_ancestral_discrete.py, scheduling_ddim.py, scheduling_lcm.py), independently of the code.
const refAlphaBar = (t: number) => {
  let prod = 1;
  for (let i = 0; i <= t; i++) {
    const root = Math.sqrt(0.00085) + ((Math.sqrt(0.012) - Math.sqrt(0.00085)) * i) / 999;
    prod *= 1 - root ** 2;
  }
  return prod;
};
const refSigma = (t: number) => Math.sqrt((1 - refAlphaBar(t)) / refAlphaBar(t));
const ac = alphasCumprod(SD1_SCHEDULE);
const cfg = (spacing: 'leading' | 'trailing' | 'linspace') => ({ ...SD1_SCHEDULE, spacing });

describe('SD 1.x noise schedule', () => {
  it('matches σ(999) = 14.6146 and σ(0) = 0.0292', () => {
    expect(sigmaAt(ac, 999)).toBeCloseTo(14.6146, 4);
    expect(sigmaAt(ac, 0)).toBeCloseTo(0.0292, 4);
    expect(ac[999]).toBeCloseTo(0.00466, 6);
    expect(ac[500]).toBeCloseTo(refAlphaBar(500), 12);
  });

  it('interpolates σ linearly between integer timesteps', () => {
    expect(sigmaAt(ac, 665.5)).toBeCloseTo((refSigma(665) + refSigma(666)) / 2, 10);
  });
});

describe('timesteps', () => {
  it('follows leading, trailing and linspace spacing', () => {
    expect(spacedTimesteps(4, cfg('leading'))).toEqual([751, 501, 251, 1]);
    expect(spacedTimesteps(4, cfg('trailing'))).toEqual([999, 749, 499, 249]);
    expect(spacedTimesteps(3, cfg('trailing'))).toEqual([999, 666, 332]);
    expect(spacedTimesteps(4, cfg('linspace'))).toEqual([999, 666, 333, 0]);
    expect(spacedTimesteps(1, cfg('trailing'))).toEqual([999]);
    expect(spacedTimesteps(20, cfg('leading')).slice(0, 3)).toEqual([951, 901, 851]);
  });

  it('picks LCM timesteps from the 50-step grid', () => {
    expect(lcmTimesteps(4, SD1_SCHEDULE)).toEqual([999, 759, 499, 259]);
    expect(lcmTimesteps(8, SD1_SCHEDULE)).toEqual([999, 879, 759, 639, 499, 379, 259, 139]);
    expect(lcmTimesteps(1, SD1_SCHEDULE)).toEqual([999]);
    expect(() => lcmTimesteps(51, SD1_SCHEDULE)).toThrow(RangeError);
  });

  it('rejects a step count that is not a positive integer', () => {
    expect(() => createSampler('euler', 0)).toThrow(RangeError);
    expect(() => createSampler('ddim', 2.5)).toThrow(RangeError);
  });
});

describe('samplers', () => {
  const x = Float32Array.from([1, -2, 0.5]);
  const eps = Float32Array.from([0.5, 0.25, -1]);
  const noise = Float32Array.from([1, 1, -1]);

  it('euler: x0 = x − σε, x ← x + ε(σnext − σ), input scaled by 1/√(σ²+1), starts at σ of the first step', () => {
    const s = createSampler('euler', 4, cfg('trailing'));
    const [s0, s1] = [refSigma(999), refSigma(749)];
    expect(s.noiseLevel(0)).toBeCloseTo(s0, 10);
    expect(s.inputScale(1)).toBeCloseTo(1 / Math.sqrt(s1 ** 2 + 1), 10);
    const { prev, x0 } = s.step(0, x, eps);
    expect(x0[0]).toBeCloseTo(1 - s0 * 0.5, 4);
    expect(prev[1]).toBeCloseTo(-2 + 0.25 * (s1 - s0), 4);
    expect(s.stochastic).toBe(false);
  });

  it('euler: the last step lands on x0 (σ = 0)', () => {
    const s = createSampler('euler', 2);
    const { prev, x0 } = s.step(1, x, eps);
    expect(Array.from(prev)).toEqual(Array.from(x0));
    expect(x0[2]).toBeCloseTo(0.5 + refSigma(1), 5);
  });

  it('euler_a: steps to σ_down and adds σ_up·noise', () => {
    const s = createSampler('euler_a', 4, cfg('trailing'));
    const [from, to] = [refSigma(999), refSigma(749)];
    const up = Math.sqrt((to ** 2 * (from ** 2 - to ** 2)) / from ** 2);
    const down = Math.sqrt(to ** 2 - up ** 2);
    const { prev } = s.step(0, x, eps, noise);
    expect(prev[2]).toBeCloseTo(0.5 - 1 * (down - from) - up, 4);
    expect(s.stochastic).toBe(true);
    expect(() => s.step(0, x, eps)).toThrow(TypeError);
  });

  it('ddim (eta 0): x0 = (x − √(1−ᾱ)ε)/√ᾱ, prev = √ᾱprev·x0 + √(1−ᾱprev)·ε; the last step uses ᾱ(0)', () => {
    const s = createSampler('ddim', 4);
    expect(s.timesteps).toEqual([751, 501, 251, 1]);
    expect(s.inputScale(0)).toBe(1);
    expect(s.noiseLevel(0)).toBeCloseTo(Math.sqrt(1 - refAlphaBar(751)), 10);
    const [a, ap] = [refAlphaBar(751), refAlphaBar(501)];
    const { prev, x0 } = s.step(0, x, eps);
    const refX0 = (1 - Math.sqrt(1 - a) * 0.5) / Math.sqrt(a);
    expect(x0[0]).toBeCloseTo(refX0, 4);
    expect(prev[0]).toBeCloseTo(Math.sqrt(ap) * refX0 + Math.sqrt(1 - ap) * 0.5, 4);
    const last = s.step(3, x, eps);
    const [a1, a0] = [refAlphaBar(1), refAlphaBar(0)];
    const lastX0 = (1 - Math.sqrt(1 - a1) * 0.5) / Math.sqrt(a1);
    expect(last.prev[0]).toBeCloseTo(Math.sqrt(a0) * lastX0 + Math.sqrt(1 - a0) * 0.5, 5);
  });

  it('lcm: boundary-condition scalings, re-noises to the next timestep, returns the denoised at the end', () => {
    const s = createSampler('lcm', 4);
    expect(s.timesteps).toEqual([999, 759, 499, 259]);
    const t = 999;
    const cSkip = 0.25 / ((t * 10) ** 2 + 0.25);
    const cOut = (t * 10) / Math.sqrt((t * 10) ** 2 + 0.25);
    const a = refAlphaBar(t);
    const denoised = cOut * ((1 - Math.sqrt(1 - a) * 0.5) / Math.sqrt(a)) + cSkip * 1;
    const { prev, x0 } = s.step(0, x, eps, noise);
    expect(x0[0]).toBeCloseTo(denoised, 4);
    const ap = refAlphaBar(759);
    expect(prev[0]).toBeCloseTo(Math.sqrt(ap) * denoised + Math.sqrt(1 - ap) * 1, 4);
    const last = s.step(3, x, eps);
    expect(Array.from(last.prev)).toEqual(Array.from(last.x0));
  });
});

describe('addNoise (image-to-image)', () => {
  const x = Float32Array.from([1, -2, 0.5]);
  const noise = Float32Array.from([1, 1, -1]);

  it('is diffusers’ add_noise at the step’s timestep: x + σ·n for Euler, √ᾱ·x + √(1−ᾱ)·n for DDIM and LCM', () => {
    for (const name of ['euler', 'euler_a'] as const) {
      const s = createSampler(name, 4, cfg('trailing'));
      expect(s.addNoise(1, x, noise)[1]).toBeCloseTo(-2 + refSigma(749), 4);
    }
    const ddim = createSampler('ddim', 4);
    const a = refAlphaBar(501);
    expect(ddim.addNoise(1, x, noise)[1]).toBeCloseTo(-2 * Math.sqrt(a) + Math.sqrt(1 - a), 6);
    const lcm = createSampler('lcm', 4);
    const l = refAlphaBar(759);
    expect(lcm.addNoise(1, x, noise)[2]).toBeCloseTo(0.5 * Math.sqrt(l) - Math.sqrt(1 - l), 6);
    // From empty latents it is the text-to-image start, noise · noiseLevel.
    for (const name of SAMPLER_NAMES) {
      const s = createSampler(name, 4);
      expect(Array.from(s.addNoise(0, new Float32Array(3), noise))).toEqual(
        Array.from(noise.map((v) => v * s.noiseLevel(0))),
      );
    }
    expect(() => ddim.addNoise(0, x, Float32Array.from([1]))).toThrow(RangeError);
  });
});

describe('denoising_start / denoising_end', () => {
  const ts = [999, 749, 499, 249];
  it('runs the steps InvokeAI runs', () => {
    expect(stepRange(ts, 0, 1, 1000)).toEqual([0, 4]);
    expect(stepRange(ts, 0.5, 1, 1000)).toEqual([2, 4]);
    expect(stepRange(ts, 0, 0.5, 1000)).toEqual([0, 2]);
    expect(stepRange(ts, 0.25, 0.75, 1000)).toEqual([1, 3]);
    expect(stepRange(ts, 0.6, 0.6, 1000)).toEqual([3, 3]);
    expect(stepRange([751, 501, 251, 1], 0, 0.999, 1000)).toEqual([0, 4]);
  });
});
