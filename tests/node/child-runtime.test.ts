import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { createJsonLogger } from '../../src/core/logger.ts';
import { ChildRuntime, type ChildRuntimeOptions } from '../../src/node/child-runtime.ts';
import { RuntimeCanceled, RuntimeError, type RuntimeProgress } from '../../src/runtime/interface.ts';
import { projectRoot } from './spawn.ts';

const TINY = join(projectRoot, 'models', 'tiny-sd');
const runtimes: ChildRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
});

function runtime(opts: Partial<Omit<ChildRuntimeOptions, 'logger'>> = {}) {
  const logs: Record<string, unknown>[] = [];
  const r = new ChildRuntime({
    models: () => ({ 'tiny-sd': TINY }),
    executionProvider: 'cpu',
    progressMaxHz: 1000,
    threads: 1,
    logger: createJsonLogger({ level: 'debug', write: (l) => logs.push(JSON.parse(l)) }),
    ...opts,
  });
  runtimes.push(r);
  return { r, logs };
}

/** Runs the text-to-image nodes of one session up to the denoise step and returns its input handles. */
async function prepare(r: ChildRuntime, sessionId: string, size: number) {
  const run = (
    nodeId: string,
    type: 'main_model_loader' | 'compel' | 'noise',
    inputs: Record<string, unknown>,
  ) => r.run({ sessionId, nodeId, type, inputs }, () => {});
  const model = await run('model', 'main_model_loader', { model: { key: 'tiny-sd' } });
  const positive = await run('positive', 'compel', { prompt: 'a red fox', clip: model.clip });
  const negative = await run('negative', 'compel', { prompt: '', clip: model.clip });
  const noise = await run('noise', 'noise', { seed: 3, width: size, height: size });
  return {
    positive_conditioning: positive.conditioning,
    negative_conditioning: negative.conditioning,
    noise: noise.noise,
    unet: model.unet,
    cfg_scale: 7.5,
    scheduler: 'euler',
    denoising_start: 0,
    denoising_end: 1,
  };
}

describe('ChildRuntime', () => {
  it('runs a session in the child and returns the decoded image', async () => {
    const { r } = runtime();
    expect(r.modelLoaded).toBe(false);
    const inputs = await prepare(r, 's1', 64);
    expect(r.modelLoaded).toBe(true);
    const steps: RuntimeProgress[] = [];
    const latents = await r.run(
      { sessionId: 's1', nodeId: 'denoise', type: 'denoise_latents', inputs: { ...inputs, steps: 3 } },
      (p) => steps.push(p),
    );
    expect(steps.map((s) => [s.step, s.totalSteps, s.message, s.image?.width, s.image?.height])).toEqual([
      [1, 3, 'Denoising step 1 of 3', 8, 8],
      [2, 3, 'Denoising step 2 of 3', 8, 8],
      [3, 3, 'Denoising step 3 of 3', 8, 8],
    ]);
    const out = await r.run(
      { sessionId: 's1', nodeId: 'l2i', type: 'l2i', inputs: { latents: latents.latents, vae: inputs.unet } },
      () => {},
    );
    const image = out.image as { rgb: Uint8Array; width: number; height: number };
    expect([image.width, image.height, image.rgb.length, image.rgb instanceof Uint8Array]).toEqual([
      64,
      64,
      64 * 64 * 3,
      true,
    ]);
  });

  it('i2l: decodes the image, encodes it at the noise size for denoise_latents and at its own for l2i', async () => {
    const { r } = runtime();
    const inputs = await prepare(r, 's2', 64);
    // 100 × 70, green on white: resized to the 64 × 64 noise, or cut down to whole latent cells (96 × 64).
    const file = new Uint8Array(
      await sharp({ create: { width: 100, height: 70, channels: 3, background: '#f5f5f5' } })
        .composite([
          {
            input: { create: { width: 50, height: 36, channels: 3, background: '#1eaa32' } },
            left: 25,
            top: 17,
          },
        ])
        .png()
        .toBuffer(),
    );
    const pixel = (image: { rgb: Uint8Array; width: number }, x: number, y: number) => {
      const i = (y * image.width + x) * 3;
      return Array.from(image.rgb.subarray(i, i + 3));
    };
    const isGreen = ([red = 0, green = 0, blue = 0]: number[]) => green > 120 && red < 110 && blue < 110;
    const isWhite = (rgb: number[]) => rgb.every((v) => v > 200);
    const run = (nodeId: string, type: 'i2l' | 'denoise_latents' | 'l2i', i: Record<string, unknown>) =>
      r.run({ sessionId: 's2', nodeId, type, inputs: i }, () => {});
    const i2l = await run('i2l', 'i2l', {
      image: { image_name: 'a.png' },
      vae: inputs.unet,
      image_file: file,
    });
    const own = (await run('own', 'l2i', { latents: i2l.latents, vae: inputs.unet })).image as {
      rgb: Uint8Array;
      width: number;
      height: number;
    };
    expect([own.width, own.height]).toEqual([96, 64]);
    expect([isGreen(pixel(own, 48, 32)), isWhite(pixel(own, 2, 2))]).toEqual([true, true]);
    const denoised = await run('denoise', 'denoise_latents', {
      ...inputs,
      cfg_scale: 2,
      steps: 20,
      denoising_start: 0.9,
      latents: i2l.latents,
    });
    const kept = (await run('l2i', 'l2i', { latents: denoised.latents, vae: inputs.unet })).image as {
      rgb: Uint8Array;
      width: number;
      height: number;
    };
    expect([kept.width, kept.height]).toEqual([64, 64]);
    expect([isGreen(pixel(kept, 32, 32)), isWhite(pixel(kept, 2, 2))]).toEqual([true, true]);
    const broken = run('bad', 'i2l', { image: {}, vae: inputs.unet, image_file: new Uint8Array([1, 2, 3]) });
    await expect(broken).rejects.toMatchObject({
      errorType: 'ImageDecodeError',
      message: 'The image could not be decoded: Input buffer contains unsupported image format',
    });
  });

  it('reports an unknown model and a missing tensor as invocation errors', async () => {
    const { r } = runtime();
    const unknown = r.run(
      { sessionId: 's', nodeId: 'm', type: 'main_model_loader', inputs: { model: { key: 'nope' } } },
      () => {},
    );
    await expect(unknown).rejects.toMatchObject({
      name: 'RuntimeError',
      errorType: 'ModelNotFound',
      message: 'model nope is not installed',
    });
    const missing = r.run(
      {
        sessionId: 's',
        nodeId: 'l2i',
        type: 'l2i',
        inputs: { latents: { handle: 'x' }, vae: { key: 'tiny-sd' } },
      },
      () => {},
    );
    await expect(missing).rejects.toMatchObject({
      errorType: 'MissingInput',
      message: 'tensor x is not in session s',
    });
  });

  it('stops a run before its next step when canceled', async () => {
    const { r } = runtime();
    const inputs = await prepare(r, 's2', 256);
    const steps: number[] = [];
    const run = r.run(
      { sessionId: 's2', nodeId: 'denoise', type: 'denoise_latents', inputs: { ...inputs, steps: 5000 } },
      (p) => {
        steps.push(p.step);
        if (p.step === 2) {
          r.cancel('s2');
        }
      },
    );
    await expect(run).rejects.toBeInstanceOf(RuntimeCanceled);
    expect(steps).toEqual([1, 2]);
    // The child is still there and serves the next session.
    const next = await prepare(r, 's3', 64);
    await r.run(
      { sessionId: 's3', nodeId: 'denoise', type: 'denoise_latents', inputs: { ...next, steps: 1 } },
      () => {},
    );
  });

  it('kills a child whose run goes silent, fails the run with a timeout, and starts a fresh child next time', async () => {
    // One progress message per 1000 s: a 5,000-step run at 1024² (a minute here) says nothing after its first
    // step. The limit covers the preparing runs too, which a loaded machine (the whole suite) can keep silent
    // for more than 300 ms: 2 s.
    const { r, logs } = runtime({ progressMaxHz: 0.001, hangTimeoutMs: 2000 });
    const inputs = await prepare(r, 's4', 1024);
    const pid = r.pid;
    const run = r.run(
      { sessionId: 's4', nodeId: 'denoise', type: 'denoise_latents', inputs: { ...inputs, steps: 5000 } },
      () => {},
    );
    await expect(run).rejects.toEqual(
      new RuntimeError('timeout', 'The run was stopped: no progress for 2000 ms.'),
    );
    expect(logs.filter((l) => l.msg === 'inference process killed')).toMatchObject([
      { level: 'error', reason: 'no progress for 2000 ms', pid },
    ]);
    // A fresh child serves the next request: a model load, which the silence limit does not cover.
    await r.preload('tiny-sd');
    expect(r.pid).not.toBe(pid);
    expect(r.pid).toEqual(expect.any(Number));
    expect(r.modelLoaded).toBe(true);
  });

  it('falls back to the CPU with a warning when CUDA is asked for and missing', async () => {
    const { r, logs } = runtime({ executionProvider: 'cuda' });
    await r.preload('tiny-sd');
    expect(r.modelLoaded).toBe(true);
    expect(logs.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'CUDA execution provider unavailable, using CPU',
    ]);
  });
});
