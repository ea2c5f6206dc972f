import { join } from 'node:path';
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
      { sessionId: 's2', nodeId: 'denoise', type: 'denoise_latents', inputs: { ...inputs, steps: 200 } },
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
    // One progress message per 1000 s: a 200-step run at 1024² (seconds here) says nothing after its first step.
    const { r, logs } = runtime({ progressMaxHz: 0.001, hangTimeoutMs: 300 });
    const inputs = await prepare(r, 's4', 1024);
    const pid = r.pid;
    const run = r.run(
      { sessionId: 's4', nodeId: 'denoise', type: 'denoise_latents', inputs: { ...inputs, steps: 200 } },
      () => {},
    );
    await expect(run).rejects.toEqual(
      new RuntimeError('timeout', 'The run was stopped: no progress for 300 ms.'),
    );
    expect(logs.filter((l) => l.msg === 'inference process killed')).toMatchObject([
      { level: 'error', reason: 'no progress for 300 ms', pid },
    ]);
    const again = await prepare(r, 's5', 64);
    expect(r.pid).not.toBe(pid);
    await r.run(
      { sessionId: 's5', nodeId: 'denoise', type: 'denoise_latents', inputs: { ...again, steps: 1 } },
      () => {},
    );
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
