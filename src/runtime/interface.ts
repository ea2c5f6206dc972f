/**
 * The inference runtime port: what the scheduler asks of whatever runs the networks. The Node adapter
 * (`src/node/child-runtime.ts`) forwards each call to an inference child process that keeps the models
 * loaded; tests use `src/runtime/fake-runtime.ts`. Tensors never cross this port: they stay in the runtime,
 * named by handles that are only valid within one session.
 */

/** The invocation types that need the runtime; primitives are evaluated by the scheduler itself. */
export type RuntimeInvocationType =
  | 'main_model_loader'
  | 'compel'
  | 'noise'
  | 'i2l'
  | 'denoise_latents'
  | 'l2i';

/** A tensor kept in the runtime for the rest of a session. */
export interface TensorHandle {
  handle: string;
}

/**
 * One invocation with its inputs resolved: literal values, and handles for tensors and models. An `i2l`
 * also gets its image's file (the stored PNG) as `inputs.image_file`, a `Uint8Array`: the runtime reads
 * no database and no blob store.
 */
export interface RuntimeInvocation {
  sessionId: string;
  nodeId: string;
  type: RuntimeInvocationType;
  inputs: Record<string, unknown>;
}

/** One denoise step as the runtime reports it (already throttled to `PROGRESS_MAX_HZ`, last step always). */
export interface RuntimeProgress {
  step: number;
  totalSteps: number;
  message: string;
  image: { dataURL: string; width: number; height: number } | null;
}

/** `l2i` output: the decoded pixels, for the scheduler to save (HWC RGB). */
export interface DecodedImage {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** What an invocation produced: handles for tensors/models, plain values, or the decoded image of `l2i`. */
export type RuntimeOutput = Record<string, unknown>;

/** Why an invocation failed, as the item records it (`error_type`, `error_message`, `error_traceback`). */
export class RuntimeError extends Error {
  override name = 'RuntimeError';
  constructor(
    readonly errorType: string,
    message: string,
    readonly traceback: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The run stopped because its session was canceled; nothing of it is kept. */
export class RuntimeCanceled extends Error {
  override name = 'RuntimeCanceled';
}

/**
 * @example
 * const out = await runtime.run({ sessionId, nodeId: 'denoise', type: 'denoise_latents', inputs }, onProgress);
 * runtime.endSession(sessionId);
 */
export interface InferenceRuntime {
  /** Loads a model ahead of use (start-up warm-up); resolves when it is ready. */
  preload(modelKey: string): Promise<void>;
  /** True once a model has loaded (for `/ready`). */
  readonly modelLoaded: boolean;
  /** Runs one invocation. Rejects with `RuntimeCanceled` after `cancel`, `RuntimeError` on failure. */
  run(invocation: RuntimeInvocation, onProgress: (p: RuntimeProgress) => void): Promise<RuntimeOutput>;
  /** Stops the session's running invocation before its next step. */
  cancel(sessionId: string): void;
  /** Frees the session's tensors. */
  endSession(sessionId: string): void;
  close(): Promise<void>;
}
