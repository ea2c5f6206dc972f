/**
 * Loads a Stable-Diffusion-shaped ONNX folder (the tiny model, or an optimum / diffusers-script export)
 * into the runtime's `DiffusionModel`, adapting to each session's declared input types.
 */
import { access, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { DiffusionModel, ModelManifest, Tensor } from '../runtime/model.ts';
import { createClipTokenizer } from '../runtime/tokenizer.ts';
import { floatInput, floatOutput, idsInput, type PortInfo, port } from './onnx-tensors.ts';

/** How to run the sessions. */
export interface LoadModelOptions {
  executionProvider: 'cpu' | 'cuda';
  warn: (msg: string, fields?: object) => void;
  /** onnxruntime intra-op threads; 0 or absent: the machine's available parallelism. */
  threads?: number;
  /** The CUDA device id (`cuda:N`). */
  deviceId?: number;
}

const SPACINGS = ['leading', 'trailing', 'linspace'] as const;
type Spacing = (typeof SPACINGS)[number];

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw err;
  }
}

const str = (v: unknown, fallback: string) => (typeof v === 'string' ? v : fallback);
const num = (v: unknown, fallback: number) => (typeof v === 'number' ? v : fallback);

/**
 * The folder's manifest: `model.json`, else `model_index.json` and the folder name with SD 1.x defaults;
 * `timestep_spacing` falls back to `scheduler/scheduler_config.json`.
 * @example const m = await readModelManifest('models/tiny-sd'); m.key; // 'tiny-sd'
 */
export async function readModelManifest(dir: string): Promise<ModelManifest> {
  const meta = await readJson(join(dir, 'model.json'));
  if (!meta && !(await readJson(join(dir, 'model_index.json')))) {
    throw new Error(`${dir} has neither model.json nor model_index.json`);
  }
  const m = meta ?? {};
  const folder = basename(resolve(dir));
  const scheduler = await readJson(join(dir, 'scheduler', 'scheduler_config.json'));
  const spacing = m.timestep_spacing ?? scheduler?.timestep_spacing ?? 'leading';
  return {
    key: str(m.key, folder),
    name: str(m.name, folder),
    base: str(m.base, 'sd-1'),
    description: str(m.description, ''),
    latent_channels: num(m.latent_channels, 4),
    vae_scale_factor: num(m.vae_scale_factor, 8),
    scaling_factor: num(m.scaling_factor, 0.18215),
    timestep_spacing: SPACINGS.includes(spacing as Spacing) ? (spacing as Spacing) : 'leading',
  };
}

type Part = 'text_encoder' | 'unet' | 'vae_decoder';

interface Sessions extends Record<Part, ort.InferenceSession> {
  /** Opens another part of the folder with the same options and providers. */
  open(part: string): Promise<ort.InferenceSession>;
}

async function openSessions(dir: string, opts: LoadModelOptions): Promise<Sessions> {
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.threads || availableParallelism(),
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  const open = (part: string, providers: ort.InferenceSession.ExecutionProviderConfig[]) =>
    ort.InferenceSession.create(join(dir, part, 'model.onnx'), { ...base, executionProviders: providers });
  let providers: ort.InferenceSession.ExecutionProviderConfig[] = [
    opts.executionProvider === 'cuda' && opts.deviceId !== undefined
      ? { name: 'cuda', deviceId: opts.deviceId }
      : opts.executionProvider,
  ];
  let textEncoder: ort.InferenceSession;
  const missing = opts.executionProvider === 'cuda' ? await missingCudaLibrary() : undefined;
  if (missing) {
    // Not even tried: onnxruntime would print its own red error lines before failing.
    opts.warn('CUDA execution provider unavailable, using CPU', {
      error: `${missing} is not installed (onnxruntime-node's install script, which downloads it, was skipped; docs/operations.md)`,
    });
    providers = ['cpu'];
  }
  try {
    textEncoder = await open('text_encoder', providers);
  } catch (err) {
    if (providers[0] === 'cpu' || opts.executionProvider !== 'cuda') {
      throw err;
    }
    opts.warn('CUDA execution provider unavailable, using CPU', { error: (err as Error).message });
    providers = ['cpu'];
    textEncoder = await open('text_encoder', providers);
  }
  const chosen = providers;
  return {
    text_encoder: textEncoder,
    unet: await open('unet', chosen),
    vae_decoder: await open('vae_decoder', chosen),
    open: (part) => open(part, chosen),
  };
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * The CUDA provider library onnxruntime-node loads from its own folder, when it is not there (its install
 * script downloads it; the project skips that script, `.npmrc`).
 */
async function missingCudaLibrary(): Promise<string | undefined> {
  const binding = join(
    dirname(createRequire(import.meta.url).resolve('onnxruntime-node')),
    '..',
    'bin',
    'napi-v6',
    process.platform,
    process.arch,
  );
  for (const name of ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so']) {
    const file = join(binding, name);
    if (process.platform === 'linux' && !(await exists(file))) {
      return name;
    }
  }
  return undefined;
}

/**
 * The latents of a VAE encoder's output: as they are when it has `channels` channels (the tiny model, and
 * optimum's older `latent_sample`), the first `channels` (the mean) when it has twice as many (optimum's
 * `latent_parameters`: mean and log-variance).
 */
function latentMean(out: Tensor, channels: number): Tensor {
  const [batch = 1, c = channels, ...rest] = out.dims;
  if (c === channels) {
    return out;
  }
  if (c !== 2 * channels) {
    throw new Error(`the VAE encoder gives ${c} channels; the model has ${channels} latent channels`);
  }
  const per = out.data.length / batch;
  const keep = per / 2;
  const data = new Float32Array(batch * keep);
  for (let b = 0; b < batch; b++) {
    data.set(out.data.subarray(b * per, b * per + keep), b * keep);
  }
  return { data, dims: [batch, channels, ...rest] };
}

function timestepInput(p: PortInfo, t: number, batch: number): ort.Tensor {
  const dims = p.rank === 0 ? [] : [batch];
  const n = p.rank === 0 ? 1 : batch;
  if (p.type === 'int64') {
    return new ort.Tensor('int64', new BigInt64Array(n).fill(BigInt(Math.round(t))), dims);
  }
  return floatInput(p, new Float32Array(n).fill(t), dims);
}

/**
 * Opens the three sessions (by path, so external `model.onnx_data` weights load) and the tokenizer.
 * `cuda` falls back to CPU with a warning when the CUDA provider cannot start. The VAE encoder, when the
 * folder has `vae_encoder/model.onnx`, opens on its first use (image-to-image): text-to-image never pays
 * for it.
 * @example const model = await loadDiffusionModel('models/tiny-sd', { executionProvider: 'cpu', warn: console.warn });
 */
export async function loadDiffusionModel(dir: string, opts: LoadModelOptions): Promise<DiffusionModel> {
  const manifest = await readModelManifest(dir);
  const text = (name: string) => readFile(join(dir, 'tokenizer', name), 'utf8');
  const tokenizer = createClipTokenizer({
    vocab: await text('vocab.json'),
    merges: await text('merges.txt'),
    specialTokensMap: await text('special_tokens_map.json'),
  });
  const s = await openSessions(dir, opts);
  const ids = port(s.text_encoder.inputMetadata, 'input_ids', 0);
  const hidden = port(s.text_encoder.outputMetadata, 'last_hidden_state', 0);
  const sample = port(s.unet.inputMetadata, 'sample', 0);
  const timestep = port(s.unet.inputMetadata, 'timestep', 1);
  const context = port(s.unet.inputMetadata, 'encoder_hidden_states', 2);
  const eps = port(s.unet.outputMetadata, 'out_sample', 0);
  const latent = port(s.vae_decoder.inputMetadata, 'latent_sample', 0);
  const image = port(s.vae_decoder.outputMetadata, 'sample', 0);
  const hasEncoder = await exists(join(dir, 'vae_encoder', 'model.onnx'));
  let encoder: Promise<ort.InferenceSession> | undefined;
  const openEncoder = () => {
    if (!encoder) {
      const opening = s.open('vae_encoder');
      encoder = opening;
      // A failed open is not kept: the next use tries again.
      opening.catch(() => {
        if (encoder === opening) {
          encoder = undefined;
        }
      });
    }
    return encoder;
  };

  return {
    manifest,
    tokenize: (prompt) => tokenizer.encode(prompt),
    async encodeText(rows) {
      const flat = new Int32Array(rows.length * tokenizer.length);
      for (const [i, row] of rows.entries()) {
        flat.set(row, i * tokenizer.length);
      }
      const out = await s.text_encoder.run({
        [ids.name]: idsInput(ids, flat, [rows.length, tokenizer.length]),
      });
      return floatOutput(out[hidden.name]);
    },
    async predictNoise(x: Tensor, t: number, ctx: Tensor) {
      const batch = x.dims[0] ?? 1;
      const out = await s.unet.run({
        [sample.name]: floatInput(sample, x.data, x.dims),
        [timestep.name]: timestepInput(timestep, t, batch),
        [context.name]: floatInput(context, ctx.data, ctx.dims),
      });
      return floatOutput(out[eps.name]);
    },
    async decode(latents) {
      const out = await s.vae_decoder.run({ [latent.name]: floatInput(latent, latents.data, latents.dims) });
      return floatOutput(out[image.name]);
    },
    ...(hasEncoder
      ? {
          async encode(pixels: Tensor) {
            const session = await openEncoder();
            const input = port(session.inputMetadata, 'sample', 0);
            const output = port(session.outputMetadata, 'latent_sample', 0);
            const out = await session.run({ [input.name]: floatInput(input, pixels.data, pixels.dims) });
            return latentMean(floatOutput(out[output.name]), manifest.latent_channels);
          },
        }
      : {}),
    async release() {
      const opened = encoder ? [await encoder.catch(() => undefined)] : [];
      await Promise.all(
        [s.text_encoder, s.unet, s.vae_decoder, ...opened].map((session) => session?.release()),
      );
    },
  };
}
