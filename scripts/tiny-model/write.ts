/**
 * Writes the tiny model folder: model.json, model_index.json, the three ONNX parts, the tokenizer and a
 * scheduler config, all derived from fixed seeds so that a rebuild gives byte-identical files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRng } from '../../src/runtime/rng.ts';
import { type Layout, PROFILES, textEncoder, unet, vaeDecoder } from './networks.ts';
import { tinyTokenizerFiles, tinyVocabSize } from './tokenizer-files.ts';

export type Profile = keyof typeof PROFILES;

/** What to build and where. */
export interface TinyModelOptions {
  out: string;
  profile: Profile;
  layout: Layout;
}

const SEED = { text: 1, unet: 2, vae: 3 };
/** Two-space JSON with short arrays of primitives on one line, as the repository's formatter writes it. */
const json = (value: unknown) =>
  `${JSON.stringify(value, null, 2).replace(/\[\s*([^[\]{}]*?)\s*\]/g, (_, items: string) => `[${items.split(/,\s*/).join(', ')}]`)}\n`;

/** The files of the folder, by relative path. */
export function tinyModelFiles(opts: Omit<TinyModelOptions, 'out'>): Record<string, string | Uint8Array> {
  const size = PROFILES[opts.profile];
  const key = opts.profile === 'large' ? 'tiny-sd-large' : 'tiny-sd';
  const files: Record<string, string | Uint8Array> = {
    'model.json': json({
      key,
      name: opts.profile === 'large' ? 'Tiny SD (large, benchmark)' : 'Tiny SD (test model)',
      base: 'sd-1',
      description:
        'Generated SD-1.x-shaped ONNX model with random weights: it makes abstract patterns, not pictures.',
      latent_channels: 4,
      vae_scale_factor: 8,
      scaling_factor: 0.18215,
    }),
    'model_index.json': json({
      _class_name: 'ORTStableDiffusionPipeline',
      _diffusers_version: '0.30.0',
      feature_extractor: [null, null],
      requires_safety_checker: false,
      safety_checker: [null, null],
      scheduler: ['diffusers', 'PNDMScheduler'],
      text_encoder: ['optimum', 'ORTModelTextEncoder'],
      tokenizer: ['transformers', 'CLIPTokenizer'],
      unet: ['optimum', 'ORTModelUnet'],
      vae_decoder: ['optimum', 'ORTModelVaeDecoder'],
    }),
    'scheduler/scheduler_config.json': json({
      _class_name: 'PNDMScheduler',
      beta_end: 0.012,
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      num_train_timesteps: 1000,
      set_alpha_to_one: false,
      skip_prk_steps: true,
      steps_offset: 1,
      timestep_spacing: 'leading',
    }),
    'text_encoder/model.onnx': textEncoder(createRng(SEED.text), size, tinyVocabSize(), opts.layout),
    'unet/model.onnx': unet(createRng(SEED.unet), size, opts.layout),
    'vae_decoder/model.onnx': vaeDecoder(createRng(SEED.vae)),
  };
  for (const [name, text] of Object.entries(tinyTokenizerFiles())) {
    files[`tokenizer/${name}`] = text;
  }
  return files;
}

/**
 * Writes the folder (creating it) and returns the relative paths written.
 * @example await writeTinyModel({ out: 'models/tiny-sd', profile: 'tiny', layout: 'optimum' });
 */
export async function writeTinyModel(opts: TinyModelOptions): Promise<string[]> {
  const files = tinyModelFiles(opts);
  for (const [rel, content] of Object.entries(files)) {
    const path = join(opts.out, rel);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, content);
  }
  return Object.keys(files).sort();
}
