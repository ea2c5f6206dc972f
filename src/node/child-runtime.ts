import { type ChildProcess, fork } from 'node:child_process';
import type { Logger } from '../core/logger.ts';
import {
  type InferenceRuntime,
  RuntimeCanceled,
  RuntimeError,
  type RuntimeInvocation,
  type RuntimeOutput,
  type RuntimeProgress,
} from '../runtime/interface.ts';
import type { ChildConfig, FromChild, ToChild } from './inference-protocol.ts';

export interface ChildRuntimeOptions extends Omit<ChildConfig, 'models'> {
  /** Model key → folder, read each time the child starts (the catalog is read at boot). */
  models: () => Record<string, string>;
  logger: Logger;
  /** A run that sends nothing (no step, no result) for this long is killed with its process. */
  hangTimeoutMs?: number;
  /** The same for loading a model (and starting the child), which may take minutes for a large one. */
  loadTimeoutMs?: number;
  /** After a cancel, how long the run may take to stop before its process is killed. */
  cancelGraceMs?: number;
}

interface Pending {
  sessionId: string | null;
  onProgress: (p: RuntimeProgress) => void;
  resolve: (out: RuntimeOutput) => void;
  reject: (err: Error) => void;
  watchdog: ReturnType<typeof setTimeout> | null;
  canceledAt: number | null;
  timeoutMs: number;
  /** The process the request went to: only its exit fails the request. */
  child: ChildProcess;
}

const CHILD = new URL('./inference-child.ts', import.meta.url);

/**
 * The runtime in a child process (`inference-child.ts`), started on first use and again after it dies. The
 * server's event loop never runs inference; a run that hangs, or does not stop after a cancel, is ended by
 * killing the child with SIGKILL (the server survives; the models load again on next use).
 * @example const runtime = new ChildRuntime({ models: () => ({ 'tiny-sd': 'models/tiny-sd' }), executionProvider: 'cpu', progressMaxHz: 10, threads: 0, logger });
 */
export class ChildRuntime implements InferenceRuntime {
  readonly #opts: Required<Omit<ChildRuntimeOptions, 'deviceId'>> & { deviceId?: number };
  #child: ChildProcess | null = null;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #loaded = false;
  #closing = false;

  constructor(opts: ChildRuntimeOptions) {
    this.#opts = { hangTimeoutMs: 120_000, loadTimeoutMs: 600_000, cancelGraceMs: 10_000, ...opts };
  }

  get modelLoaded(): boolean {
    return this.#loaded;
  }

  /** The child's process id, while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async preload(modelKey: string): Promise<void> {
    await this.#request({ type: 'preload', id: 0, modelKey }, null, () => {}, this.#opts.loadTimeoutMs);
    this.#loaded = true;
  }

  async run(invocation: RuntimeInvocation, onProgress: (p: RuntimeProgress) => void): Promise<RuntimeOutput> {
    const timeout =
      invocation.type === 'main_model_loader' ? this.#opts.loadTimeoutMs : this.#opts.hangTimeoutMs;
    const out = await this.#request(
      { type: 'run', id: 0, invocation },
      invocation.sessionId,
      onProgress,
      timeout,
    );
    if (invocation.type === 'main_model_loader') {
      this.#loaded = true;
    }
    return out;
  }

  cancel(sessionId: string): void {
    this.#send({ type: 'cancel', sessionId });
    for (const [id, p] of this.#pending) {
      if (p.sessionId === sessionId && p.canceledAt === null) {
        p.canceledAt = Date.now();
        this.#arm(id, p, this.#opts.cancelGraceMs);
      }
    }
  }

  endSession(sessionId: string): void {
    this.#send({ type: 'end', sessionId });
  }

  async close(): Promise<void> {
    this.#closing = true;
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }

  #send(msg: ToChild): void {
    if (this.#child?.connected) {
      this.#child.send(msg);
    }
  }

  #request(
    msg: ToChild & { id: number },
    sessionId: string | null,
    onProgress: (p: RuntimeProgress) => void,
    timeoutMs: number,
  ) {
    const child = this.#ensureChild();
    const id = this.#nextId++;
    return new Promise<RuntimeOutput>((resolve, reject) => {
      const pending: Pending = {
        sessionId,
        onProgress,
        resolve,
        reject,
        watchdog: null,
        canceledAt: null,
        timeoutMs,
        child,
      };
      this.#pending.set(id, pending);
      this.#arm(id, pending, timeoutMs);
      child.send({ ...msg, id }, (err) => {
        if (err) {
          this.#settle(
            id,
            new RuntimeError('runtime_crashed', `The inference process could not be reached: ${err.message}`),
          );
        }
      });
    });
  }

  /** (Re)starts the timer after which a silent run's process is killed. */
  #arm(id: number, p: Pending, ms: number): void {
    if (p.watchdog) {
      clearTimeout(p.watchdog);
    }
    p.watchdog = setTimeout(() => {
      const why =
        p.canceledAt === null ? `no progress for ${ms} ms` : `did not stop within ${ms} ms of a cancel`;
      this.#opts.logger.error('inference process killed', { reason: why, pid: p.child.pid });
      this.#settle(
        id,
        p.canceledAt === null
          ? new RuntimeError('timeout', `The run was stopped: ${why}.`)
          : new RuntimeCanceled(why),
      );
      // Forget the process at once: the next request starts a fresh one instead of writing to this one.
      if (this.#child === p.child) {
        this.#child = null;
        this.#loaded = false;
      }
      p.child.kill('SIGKILL');
    }, ms);
  }

  #settle(id: number, result: Error | RuntimeOutput): void {
    const p = this.#pending.get(id);
    if (!p) {
      return;
    }
    this.#pending.delete(id);
    if (p.watchdog) {
      clearTimeout(p.watchdog);
    }
    if (result instanceof Error) {
      p.reject(result);
    } else {
      p.resolve(result);
    }
  }

  #ensureChild(): ChildProcess {
    if (this.#child?.connected) {
      return this.#child;
    }
    const child = fork(CHILD, [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const { models, executionProvider, progressMaxHz, threads, deviceId } = this.#opts;
    child.send({
      type: 'init',
      config: { models: models(), executionProvider, progressMaxHz, threads, deviceId },
    } satisfies ToChild);
    child.on('message', (msg: FromChild) => this.#onMessage(msg));
    // A write to a process that just died: its exit fails what was sent to it.
    child.on('error', (err) =>
      this.#opts.logger.warn('inference process error', { pid: child.pid, error: err.message }),
    );
    child.on('exit', (code, signal) => {
      if (this.#child === child) {
        this.#child = null;
        this.#loaded = false;
      }
      if (!this.#closing) {
        this.#opts.logger.warn('inference process exited', { pid: child.pid, code, signal });
      }
      for (const [id, p] of [...this.#pending]) {
        if (p.child !== child) {
          continue;
        }
        this.#settle(
          id,
          p.canceledAt !== null
            ? new RuntimeCanceled('the inference process was stopped')
            : new RuntimeError(
                'runtime_crashed',
                `The inference process exited (code ${code}, signal ${signal}).`,
              ),
        );
      }
    });
    this.#child = child;
    this.#opts.logger.info('inference process started', {
      pid: child.pid,
      execution_provider: executionProvider,
      device_id: deviceId ?? null,
    });
    return child;
  }

  #onMessage(msg: FromChild): void {
    if (msg.type === 'log') {
      this.#opts.logger[msg.level](msg.msg, msg.fields);
      return;
    }
    const p = this.#pending.get(msg.id);
    if (!p) {
      return;
    }
    switch (msg.type) {
      case 'step':
        if (p.canceledAt === null) {
          this.#arm(msg.id, p, p.timeoutMs);
          p.onProgress(msg.progress);
        }
        return;
      case 'result':
        this.#settle(msg.id, msg.output);
        return;
      case 'canceled':
        this.#settle(msg.id, new RuntimeCanceled('canceled'));
        return;
      case 'error':
        this.#settle(msg.id, new RuntimeError(msg.errorType, msg.message, msg.traceback));
        return;
    }
  }
}
