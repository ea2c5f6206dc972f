import {
  type InferenceRuntime,
  RuntimeCanceled,
  type RuntimeError,
  type RuntimeInvocation,
  type RuntimeOutput,
  type RuntimeProgress,
} from './interface.ts';

export interface FakeRuntimeOptions {
  /** Awaited before each denoise step (1-based): a test holds a run at a step to cancel it there. */
  beforeStep?: (step: number, invocation: RuntimeInvocation) => Promise<void> | void;
  /** A failure to raise for an invocation, if any. */
  failWith?: (invocation: RuntimeInvocation) => RuntimeError | undefined;
}

/**
 * A runtime with no networks, for scheduler tests: nodes finish at once with handles, denoising reports
 * each step, `l2i` returns a grey image of the noise's size (64 × 64 for an `i2l`'s latents). It records every invocation it ran.
 * @example const runtime = new FakeRuntime({ beforeStep: (s) => (s === 2 ? gate : undefined) });
 */
export class FakeRuntime implements InferenceRuntime {
  readonly runs: RuntimeInvocation[] = [];
  /** Every session ever canceled (a record for tests). */
  readonly canceled = new Set<string>();
  /** Sessions canceled and not yet ended: like the child process, `endSession` clears a cancel. */
  readonly #canceling = new Set<string>();
  readonly ended: string[] = [];
  modelLoaded = false;
  #sizes = new Map<string, { width: number; height: number }>();

  constructor(private readonly opts: FakeRuntimeOptions = {}) {}

  async preload(_modelKey: string): Promise<void> {
    this.modelLoaded = true;
  }

  async run(inv: RuntimeInvocation, onProgress: (p: RuntimeProgress) => void): Promise<RuntimeOutput> {
    this.runs.push(inv);
    const failure = this.opts.failWith?.(inv);
    if (failure) {
      throw failure;
    }
    const handle = (name: string) => ({ handle: `${inv.sessionId}/${inv.nodeId}/${name}` });
    switch (inv.type) {
      case 'main_model_loader': {
        this.modelLoaded = true;
        const key = (inv.inputs.model as { key: string }).key;
        return { unet: { key }, clip: { key }, vae: { key } };
      }
      case 'compel':
        return { conditioning: handle('conditioning') };
      case 'noise': {
        const out = handle('noise');
        this.#sizes.set(out.handle, {
          width: inv.inputs.width as number,
          height: inv.inputs.height as number,
        });
        return { noise: out, width: inv.inputs.width, height: inv.inputs.height };
      }
      case 'i2l':
        return { latents: handle('latents') };
      case 'denoise_latents': {
        const steps = inv.inputs.steps as number;
        for (let step = 1; step <= steps; step++) {
          await this.opts.beforeStep?.(step, inv);
          if (this.#canceling.has(inv.sessionId)) {
            throw new RuntimeCanceled(`session ${inv.sessionId} canceled`);
          }
          onProgress({ step, totalSteps: steps, message: `Step ${step} of ${steps}`, image: null });
        }
        const out = handle('latents');
        this.#sizes.set(
          out.handle,
          this.#sizes.get((inv.inputs.noise as { handle: string }).handle) ?? { width: 64, height: 64 },
        );
        return { latents: out };
      }
      case 'l2i': {
        const size = this.#sizes.get((inv.inputs.latents as { handle: string }).handle) ?? {
          width: 64,
          height: 64,
        };
        return { image: { rgb: new Uint8Array(size.width * size.height * 3).fill(128), ...size } };
      }
    }
  }

  cancel(sessionId: string): void {
    this.canceled.add(sessionId);
    this.#canceling.add(sessionId);
  }

  endSession(sessionId: string): void {
    this.ended.push(sessionId);
    this.#canceling.delete(sessionId);
  }

  async close(): Promise<void> {}
}
