/**
 * Seeded pseudo-random numbers for latent noise and for the weights of the generated tiny model.
 *
 * The generator is xoshiro128** seeded through splitmix32, with Box-Muller for normals; it uses only integer
 * arithmetic and `Math.log`/`Math.cos`/`Math.sin`/`Math.sqrt`, so a seed gives the same numbers on every run.
 * It is NOT torch's Philox/mt19937: a seed here does not reproduce the image diffusers or InvokeAI make with it.
 */

/** Uniform floats in [0, 1) and standard normals from one 32-bit seed. */
export interface Rng {
  /** A uniform float in [0, 1) with 32 random bits. */
  uniform(): number;
  /** A standard normal N(0, 1). */
  normal(): number;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * A deterministic generator for a seed in 0…2³²−1 (other numbers are reduced modulo 2³²).
 * @example const rng = createRng(42); const x = rng.normal();
 */
export function createRng(seed: number): Rng {
  const init = splitmix32(seed);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c = (c ^ a) >>> 0;
    d = (d ^ b) >>> 0;
    b = (b ^ c) >>> 0;
    a = (a ^ d) >>> 0;
    c = (c ^ t) >>> 0;
    d = rotl(d, 11);
    return result;
  };
  let spare: number | undefined;
  const uniform = () => next() / 4294967296;
  return {
    uniform,
    normal() {
      if (spare !== undefined) {
        const v = spare;
        spare = undefined;
        return v;
      }
      const u1 = 1 - uniform();
      const u2 = uniform();
      const r = Math.sqrt(-2 * Math.log(u1));
      spare = r * Math.sin(2 * Math.PI * u2);
      return r * Math.cos(2 * Math.PI * u2);
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * `n` standard normals from a seed, as float32.
 * @example const noise = randn(7, 4 * 64 * 64);
 */
export function randn(seed: number, n: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = rng.normal();
  }
  return out;
}
