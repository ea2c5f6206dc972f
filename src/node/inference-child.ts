/**
 * The inference child process: keeps models loaded, runs one invocation at a time through the portable
 * pipeline on onnxruntime-node, and answers the server over the IPC channel (`inference-protocol.ts`).
 * It lives in its own process because `session.run()` blocks the thread it runs on and cannot be
 * interrupted: the server stays responsive, and a run that hangs is ended by killing this process.
 */
import type { RuntimeInvocation, RuntimeOutput, RuntimeProgress } from '../runtime/interface.ts';
import type { DiffusionModel, Tensor } from '../runtime/model.ts';
import {
  DenoiseCanceled,
  decodeLatents,
  denoise,
  encodeImage,
  encodePrompt,
  makeNoise,
  previewRgb,
} from '../runtime/pipeline.ts';
import type { ChildConfig, FromChild, ToChild } from './inference-protocol.ts';
import { loadDiffusionModel } from './onnx-model.ts';
import { decodeRgb, sharpCodec } from './sharp-images.ts';

let config: ChildConfig | null = null;
const models = new Map<string, Promise<DiffusionModel>>();
/**
 * An `i2l`'s image, encoded when a node uses it, at the size that node needs (the noise's for
 * `denoise_latents`), and kept per size.
 */
interface SourceImage {
  file: Uint8Array;
  width: number;
  height: number;
  /** The model whose VAE encodes it. */
  vae: string;
  encoded: Map<string, Promise<Tensor>>;
}

/** A session's value: a tensor (with the seed a noise tensor was made from), or an image still to encode. */
type Stored =
  | { tensor: Tensor; seed?: number; image?: undefined }
  | { image: SourceImage; tensor?: undefined };

/** The values of each session by handle. */
const sessions = new Map<string, Map<string, Stored>>();
const canceled = new Set<string>();
const codec = sharpCodec();

const send = (msg: FromChild) => process.send?.(msg);

class InvocationError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

function model(key: string): Promise<DiffusionModel> {
  let loaded = models.get(key);
  if (!loaded) {
    const dir = config?.models[key];
    if (!dir) {
      throw new InvocationError('ModelNotFound', `model ${key} is not installed`);
    }
    const started = performance.now();
    loaded = loadDiffusionModel(dir, {
      executionProvider: config?.executionProvider ?? 'cpu',
      threads: config?.threads ?? 0,
      deviceId: config?.deviceId,
      warn: (msg, fields) =>
        send({ type: 'log', level: 'warn', msg, fields: fields as Record<string, unknown> }),
    }).then((m) => {
      send({
        type: 'log',
        level: 'info',
        msg: 'model loaded',
        fields: { model: key, ms: Math.round(performance.now() - started) },
      });
      return m;
    });
    models.set(key, loaded);
    // A failed load is not cached: the next use tries again.
    loaded.catch(() => models.delete(key));
  }
  return loaded;
}

function store(sessionId: string) {
  let s = sessions.get(sessionId);
  if (!s) {
    s = new Map();
    sessions.set(sessionId, s);
  }
  return s;
}

function storedOf(sessionId: string, ref: unknown): Stored {
  const handle = (ref as { handle?: unknown } | undefined)?.handle;
  const found = typeof handle === 'string' ? sessions.get(sessionId)?.get(handle) : undefined;
  if (!found) {
    throw new InvocationError('MissingInput', `tensor ${String(handle)} is not in session ${sessionId}`);
  }
  return found;
}

function tensorOf(sessionId: string, ref: unknown): { tensor: Tensor; seed?: number } {
  const found = storedOf(sessionId, ref);
  if (!found.tensor) {
    throw new InvocationError(
      'MissingInput',
      `${String((ref as { handle?: unknown }).handle)} is not a tensor`,
    );
  }
  return found;
}

/**
 * Latents from a handle: a tensor as it is, or an `i2l`'s image resized to `size` (pixels; by default its
 * own size rounded down to whole latent cells) and VAE-encoded, once per size.
 */
async function latentsOf(sessionId: string, ref: unknown, size?: { width: number; height: number }) {
  const found = storedOf(sessionId, ref);
  if (found.tensor) {
    return found.tensor;
  }
  const source = found.image;
  const m = await model(source.vae);
  const f = m.manifest.vae_scale_factor;
  const target = size ?? {
    width: Math.max(f, source.width - (source.width % f)),
    height: Math.max(f, source.height - (source.height % f)),
  };
  const key = `${target.width}x${target.height}`;
  let encoded = source.encoded.get(key);
  if (!encoded) {
    encoded = decodeRgb(source.file, target).then(({ rgb }) =>
      encodeImage(m, rgb, target.width, target.height),
    );
    source.encoded.set(key, encoded);
  }
  return encoded;
}

const modelKey = (ref: unknown) => (ref as { key: string }).key;

async function previewUrl(x0: Tensor, m: DiffusionModel) {
  const { rgb, width, height } = previewRgb(x0, m.manifest);
  return { dataURL: await codec.previewDataUrl(rgb, width, height), width, height };
}

async function runInvocation(id: number, inv: RuntimeInvocation): Promise<RuntimeOutput> {
  const { sessionId, nodeId, inputs } = inv;
  const keep = (field: string, value: Stored) => {
    const handle = `${nodeId}.${field}`;
    store(sessionId).set(handle, value);
    return { handle };
  };
  const put = (field: string, tensor: Tensor, seed?: number) => keep(field, { tensor, seed });
  switch (inv.type) {
    case 'main_model_loader': {
      const key = modelKey(inputs.model);
      await model(key);
      return { unet: { key }, clip: { key }, vae: { key } };
    }
    case 'compel': {
      const m = await model(modelKey(inputs.clip));
      return { conditioning: put('conditioning', await encodePrompt(m, String(inputs.prompt ?? ''))) };
    }
    case 'noise': {
      const seed = inputs.seed as number;
      const width = inputs.width as number;
      const height = inputs.height as number;
      // Noise depends only on the seed and size; the bundled model's latent layout is SD 1.x's.
      const manifest = { latent_channels: 4, vae_scale_factor: 8 } as DiffusionModel['manifest'];
      return { noise: put('noise', makeNoise(seed, width, height, manifest), seed), width, height };
    }
    case 'i2l': {
      const vae = modelKey(inputs.vae);
      if (!(await model(vae)).encode) {
        throw new InvocationError('VaeEncoderMissing', `model ${vae} has no VAE encoder (vae_encoder/)`);
      }
      const file = inputs.image_file;
      if (!(file instanceof Uint8Array)) {
        throw new InvocationError('MissingInput', 'i2l got no image file');
      }
      // Decoded here so that a broken file fails this node; resized and encoded where it is used.
      const { width, height } = await decodeRgb(file);
      return { latents: keep('latents', { image: { file, width, height, vae, encoded: new Map() } }) };
    }
    case 'denoise_latents': {
      const m = await model(modelKey(inputs.unet));
      const noise = tensorOf(sessionId, inputs.noise);
      const [, , latentHeight = 0, latentWidth = 0] = noise.tensor.dims;
      const f = m.manifest.vae_scale_factor;
      const latents =
        inputs.latents === undefined || inputs.latents === null
          ? undefined
          : await latentsOf(sessionId, inputs.latents, { width: latentWidth * f, height: latentHeight * f });
      const minInterval = 1000 / (config?.progressMaxHz ?? 10);
      let lastSent = Number.NEGATIVE_INFINITY;
      const result = await denoise(
        m,
        {
          positive: tensorOf(sessionId, inputs.positive_conditioning).tensor,
          negative: tensorOf(sessionId, inputs.negative_conditioning).tensor,
          noise: noise.tensor,
          steps: inputs.steps as number,
          cfgScale: inputs.cfg_scale as number,
          scheduler: inputs.scheduler as 'euler',
          denoisingStart: inputs.denoising_start as number,
          denoisingEnd: inputs.denoising_end as number,
          seed: noise.seed ?? 0,
          ...(latents ? { latents } : {}),
        },
        {
          isCanceled: () => canceled.has(sessionId),
          onStep: async ({ step, totalSteps, x0 }) => {
            const now = performance.now();
            if (step < totalSteps && now - lastSent < minInterval) {
              return;
            }
            lastSent = now;
            const progress: RuntimeProgress = {
              step,
              totalSteps,
              message: `Denoising step ${step} of ${totalSteps}`,
              image: await previewUrl(x0, m),
            };
            send({ type: 'step', id, progress });
          },
        },
      );
      return { latents: put('latents', result) };
    }
    case 'l2i': {
      const m = await model(modelKey(inputs.vae));
      const image = await decodeLatents(m, await latentsOf(sessionId, inputs.latents));
      return { image, width: image.width, height: image.height };
    }
  }
}

async function handle(msg: ToChild): Promise<void> {
  switch (msg.type) {
    case 'init':
      config = msg.config;
      return;
    case 'cancel':
      canceled.add(msg.sessionId);
      return;
    case 'end':
      sessions.delete(msg.sessionId);
      canceled.delete(msg.sessionId);
      return;
    case 'preload':
    case 'run':
      try {
        let output: RuntimeOutput = {};
        if (msg.type === 'run') {
          output = await runInvocation(msg.id, msg.invocation);
        } else {
          await model(msg.modelKey);
        }
        send({ type: 'result', id: msg.id, output });
      } catch (err) {
        if (err instanceof DenoiseCanceled) {
          send({ type: 'canceled', id: msg.id });
        } else {
          const e = err instanceof Error ? err : new Error(String(err));
          send({
            type: 'error',
            id: msg.id,
            errorType: e instanceof InvocationError ? e.errorType : e.name,
            message: e.message,
            traceback: e.stack ?? null,
          });
        }
      }
      return;
  }
}

process.on('message', (msg: ToChild) => void handle(msg));
// The server going away closes the channel: leave with it instead of lingering as an orphan.
process.on('disconnect', () => process.exit(0));
