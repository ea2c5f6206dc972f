import type { RuntimeInvocation, RuntimeOutput, RuntimeProgress } from '../runtime/interface.ts';

/**
 * The messages between the server and its inference child process (structured clone over the IPC
 * channel, so pixel buffers travel as typed arrays). One `run` or `preload` is in flight at a time;
 * `cancel` may arrive while a run is in flight and is acted on before the next denoise step.
 */

export interface ChildConfig {
  /** Model key → folder. */
  models: Record<string, string>;
  executionProvider: 'cpu' | 'cuda';
  progressMaxHz: number;
  /** onnxruntime intra-op threads; 0 lets onnxruntime choose. */
  threads: number;
  /** The CUDA device (`cuda:N` in `DEVICES`); absent: device 0. */
  deviceId?: number;
}

export type ToChild =
  | { type: 'init'; config: ChildConfig }
  | { type: 'preload'; id: number; modelKey: string }
  | { type: 'run'; id: number; invocation: RuntimeInvocation }
  | { type: 'cancel'; sessionId: string }
  | { type: 'end'; sessionId: string };

export type FromChild =
  | { type: 'step'; id: number; progress: RuntimeProgress }
  | { type: 'result'; id: number; output: RuntimeOutput }
  | { type: 'canceled'; id: number }
  | { type: 'error'; id: number; errorType: string; message: string; traceback: string | null }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> };
