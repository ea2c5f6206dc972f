/**
 * The three networks of the tiny model, shaped like Stable Diffusion 1.x's ONNX export. The weights are
 * random (seeded), so the "images" are abstract patterns, but every input really drives the output:
 * the UNet convolves the sample, adds a sinusoidal timestep embedding, and scales/shifts its channels by a
 * projection of the text context.
 */
import type { Rng } from '../../src/runtime/rng.ts';
import { GraphBuilder } from './graph-builder.ts';

export const SEQ_LEN = 77;
export const LATENT_CHANNELS = 4;

/** Width and depth of the networks. */
export interface NetworkSize {
  /** Text embedding width (`last_hidden_state`'s last dim). */
  hidden: number;
  /** UNet feature channels. */
  channels: number;
  /** UNet hidden C→C convolutions. */
  depth: number;
}

export const PROFILES: Record<'tiny' | 'large', NetworkSize> = {
  tiny: { hidden: 32, channels: 16, depth: 1 },
  large: { hidden: 32, channels: 32, depth: 3 },
};

/** `optimum`: int64 ids, scalar timestep; `script`: the older diffusers script (int32 ids, timestep `[b]`). */
export type Layout = 'optimum' | 'script';

const conv3 = { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } };

/**
 * `input_ids` → embeddings + positions → a causal running mean (so later positions, padding included,
 * carry the whole prompt as CLIP's causal attention does) → two residual tanh MLP layers.
 */
export function textEncoder(rng: Rng, size: NetworkSize, vocabSize: number, layout: Layout): Uint8Array {
  const g = new GraphBuilder('text_encoder', rng);
  const d = size.hidden;
  const tok = g.op('Gather', [g.random('token_embedding', [vocabSize, d], 1), 'input_ids']);
  const causal = new Float32Array(SEQ_LEN * SEQ_LEN);
  for (let i = 0; i < SEQ_LEN; i++) {
    for (let j = 0; j <= i; j++) {
      causal[i * SEQ_LEN + j] = 1 / (i + 1);
    }
  }
  const mixed = g.op('MatMul', [g.constant('causal_mean', [SEQ_LEN, SEQ_LEN], causal), tok]);
  let h = g.op('Add', [g.op('Add', [tok, mixed]), g.random('position_embedding', [SEQ_LEN, d], 0.5)]);
  for (let l = 0; l < 2; l++) {
    const inner = g.op('MatMul', [h, g.random(`layer${l}.fc1`, [d, d], 1 / Math.sqrt(d))]);
    const act = g.op('Tanh', [g.op('Add', [inner, g.random(`layer${l}.b1`, [d], 0.1)])]);
    const proj = g.op('MatMul', [act, g.random(`layer${l}.fc2`, [d, d], 1 / Math.sqrt(d))]);
    h = g.op('Add', [h, proj], {}, l === 1 ? 'last_hidden_state' : undefined);
  }
  return g.toBytes(
    [{ name: 'input_ids', type: layout === 'script' ? 'int32' : 'int64', dims: ['batch', SEQ_LEN] }],
    [{ name: 'last_hidden_state', type: 'float', dims: ['batch', SEQ_LEN, d] }],
  );
}

/**
 * ε = sample + 0.25·f(sample, t, context): three or more 3×3 convolutions with a timestep bias and a
 * context scale/shift after the first. The identity part keeps Euler sampling bounded (the output's scale
 * matches an ε-predictor's at high noise).
 */
export function unet(rng: Rng, size: NetworkSize, layout: Layout): Uint8Array {
  const g = new GraphBuilder('unet', rng);
  const c = size.channels;
  const d = size.hidden;
  const half = 8;
  const freqs = Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
  const t = g.op('Reshape', ['timestep', g.ints('shape_n1', [-1, 1])]);
  const angles = g.op('Mul', [t, g.constant('time_freqs', [1, half], freqs)]);
  const temb = g.op('Concat', [g.op('Sin', [angles]), g.op('Cos', [angles])], { axis: { int: 1 } });
  const tproj = g.op('MatMul', [temb, g.random('time_proj', [2 * half, c], 0.5)]);
  const tbias = g.op('Reshape', [tproj, g.ints('shape_nc11', [-1, c, 1, 1])]);

  const weights = Float32Array.from({ length: SEQ_LEN }, (_, j) => Math.exp(-j / 8));
  const norm = weights.reduce((a, b) => a + b, 0);
  const pool = g.constant(
    'context_pool',
    [1, SEQ_LEN],
    weights.map((w) => w / norm),
  );
  const pooled = g.op('Reshape', [
    g.op('MatMul', [pool, 'encoder_hidden_states']),
    g.ints('shape_nd', [-1, d]),
  ]);
  const pre = g.op('MatMul', [pooled, g.random('context_scale', [d, c], 2 / Math.sqrt(d))]);
  const scale = g.op('Reshape', [g.op('Tanh', [pre]), 'shape_nc11']);
  const shiftProj = g.op('MatMul', [pooled, g.random('context_shift', [d, c], 1 / Math.sqrt(d))]);
  const shift = g.op('Reshape', [shiftProj, 'shape_nc11']);

  const first = g.op(
    'Conv',
    ['sample', g.random('conv_in.w', [c, 4, 3, 3], 1 / 6), g.random('conv_in.b', [c], 0.1)],
    conv3,
  );
  const timed = g.op('Add', [first, tbias]);
  const one = g.constant('one', [1], [1]);
  const filmed = g.op('Add', [g.op('Mul', [timed, g.op('Add', [one, scale])]), shift]);
  let h = g.op('Tanh', [filmed]);
  for (let l = 0; l < size.depth; l++) {
    const w = g.random(`conv${l}.w`, [c, c, 3, 3], 1.5 / Math.sqrt(9 * c));
    h = g.op('Tanh', [g.op('Conv', [h, w, g.random(`conv${l}.b`, [c], 0.1)], conv3)]);
  }
  const out = g.op(
    'Conv',
    [h, g.random('conv_out.w', [4, c, 3, 3], 1 / Math.sqrt(9 * c)), g.random('conv_out.b', [4], 0.05)],
    conv3,
  );
  g.op('Add', ['sample', g.op('Mul', [out, g.constant('residual_gain', [1], [0.25])])], {}, 'out_sample');
  const timestepDims = layout === 'script' ? ['batch'] : [];
  return g.toBytes(
    [
      { name: 'sample', type: 'float', dims: ['batch', LATENT_CHANNELS, 'height', 'width'] },
      { name: 'timestep', type: 'float', dims: timestepDims },
      { name: 'encoder_hidden_states', type: 'float', dims: ['batch', SEQ_LEN, d] },
    ],
    [{ name: 'out_sample', type: 'float', dims: ['batch', LATENT_CHANNELS, 'height', 'width'] }],
  );
}

/**
 * `latent_sample` → soft clip → 1×1 conv to 12 channels → depth-to-space ×2 → 3×3 conv → bilinear ×4 →
 * tanh: `[b, 3, 8h, 8w]` in [-1, 1].
 */
export function vaeDecoder(rng: Rng): Uint8Array {
  const g = new GraphBuilder('vae_decoder', rng);
  const soft = g.op('Tanh', [g.op('Mul', ['latent_sample', g.constant('input_gain', [1], [0.4])])]);
  const w1 = g.random('conv_in.w', [12, 4, 1, 1], 0.8);
  const wide = g.op('Tanh', [g.op('Conv', [soft, w1, g.random('conv_in.b', [12], 0.1)])]);
  const up2 = g.op('DepthToSpace', [wide], { blocksize: { int: 2 }, mode: { str: 'CRD' } });
  const rgb = g.op(
    'Conv',
    [up2, g.random('conv_mid.w', [3, 3, 3, 3], 0.4), g.random('conv_mid.b', [3], 0.1)],
    conv3,
  );
  const scales = g.constant('resize_scales', [4], [1, 1, 4, 4]);
  const up8 = g.op('Resize', [rgb, '', scales], { mode: { str: 'linear' } });
  g.op('Tanh', [up8], {}, 'sample');
  return g.toBytes(
    [{ name: 'latent_sample', type: 'float', dims: ['batch', LATENT_CHANNELS, 'height', 'width'] }],
    [{ name: 'sample', type: 'float', dims: ['batch', 3, 'out_height', 'out_width'] }],
  );
}
