import type { QueueSettings, ServiceContext } from '../core/context.ts';
import type { Logger } from '../core/logger.ts';
import type { ProcessorStatus, Workers } from '../core/workers.ts';
import type { ItemRow } from '../queue/item-dto.ts';
import type { Graph } from '../runtime/graph-schema.ts';
import { type InferenceRuntime, RuntimeCanceled, RuntimeError } from '../runtime/interface.ts';
import { finishItem } from './finish-item.ts';
import { recoverInterrupted } from './recover-interrupted.ts';
import { runSession, type SaveImageRequest } from './run-session.ts';
import { saveGeneratedImage } from './save-image.ts';
import { startNextItem } from './start-next-item.ts';

export interface WorkerPoolOptions {
  runtime: InferenceRuntime;
  logger: Logger;
  fairness: QueueSettings['fairness'];
  /** Writes a generated image and returns its name; the images service unless a test replaces it. */
  saveImage?: ImageSaver;
  queueId?: string;
  /**
   * How often an idle scheduler looks for work it was not woken for (items enqueued by another process).
   * Enqueue, retry and resume wake it at once.
   */
  pollIntervalMs?: number;
}

export type ImageSaver = (
  ctx: ServiceContext,
  owner: { userId: string; itemId: number; sessionId: string },
  request: SaveImageRequest,
) => Promise<{ image_name: string }>;

/** Saves through the images service: files first, then the row, in the owner's gallery. */
const saveWithImagesService: ImageSaver = (ctx, owner, request) =>
  saveGeneratedImage({
    ctx,
    input: {
      rgb: request.image.rgb,
      width: request.image.width,
      height: request.image.height,
      userId: owner.userId,
      queueItemId: owner.itemId,
      sessionId: owner.sessionId,
      nodeId: request.nodeId,
      boardId: request.boardId,
      isIntermediate: request.isIntermediate,
      metadata: { ...request.metadata },
    },
  });

interface Running {
  itemId: number;
  sessionId: string;
  canceled: boolean;
}

/**
 * The in-process GPU scheduler: one item at a time, claimed in the queue's order (round-robin across users
 * or fifo), its graph run through the inference runtime with every transition written to the database and
 * then published. Pausing lets the running item finish and starts no other; `cancel` stops the running
 * item before its next step. Implements the `Workers` port the queue services call.
 * @example const scheduler = new WorkerPool({ runtime, logger, fairness, saveImage }); await scheduler.start(ctx);
 */
export class WorkerPool implements Workers {
  readonly #opts: Required<WorkerPoolOptions>;
  #ctx: ServiceContext | null = null;
  #started = true;
  #closed = false;
  /** The items running: the one in inference, and at most one earlier item still saving its results. */
  readonly #running = new Map<number, Running>();
  /** The previous item's save-and-finish, still going while the next item's inference starts. */
  #tail: Promise<void> = Promise.resolve();
  #wakeUp: (() => void) | null = null;
  #woken = false;
  #loop: Promise<void> | null = null;

  constructor(opts: WorkerPoolOptions) {
    this.#opts = { queueId: 'default', pollIntervalMs: 5000, saveImage: saveWithImagesService, ...opts };
  }

  /** Recovers items a crash left running, then starts taking work. */
  async start(ctx: ServiceContext): Promise<void> {
    this.#ctx = ctx;
    const { requeued, failed } = await recoverInterrupted(ctx.db, this.#opts.queueId, ctx.clock.now());
    if (requeued.length > 0 || failed.length > 0) {
      this.#opts.logger.warn('recovered items interrupted by a restart', { requeued, failed });
    }
    this.#loop = this.#run();
  }

  status(): ProcessorStatus {
    return { is_started: this.#started, is_processing: this.#running.size > 0 };
  }

  pause(): ProcessorStatus {
    this.#started = false;
    this.#opts.logger.info('processor paused');
    return this.status();
  }

  resume(): ProcessorStatus {
    this.#started = true;
    this.#opts.logger.info('processor resumed');
    this.wake();
    return this.status();
  }

  cancel(itemId: number): void {
    const running = this.#running.get(itemId);
    if (running && !running.canceled) {
      running.canceled = true;
      this.#opts.runtime.cancel(running.sessionId);
    }
  }

  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  /**
   * Stops taking work and waits for the loop to end. The running item is stopped and left `in_progress`,
   * for the next start to recover: it was not canceled by anyone.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const itemId of this.#running.keys()) {
      this.cancel(itemId);
    }
    this.wake();
    await this.#loop;
    await this.#tail;
  }

  async #run(): Promise<void> {
    const ctx = this.#ctx as ServiceContext;
    while (!this.#closed) {
      this.#woken = false;
      let worked = false;
      if (this.#started) {
        try {
          worked = await this.#runNext(ctx);
        } catch (err) {
          // A database error while claiming or finishing: log it and try again after the poll interval.
          this.#opts.logger.error('scheduler step failed', {
            err: err instanceof Error ? err.stack : String(err),
          });
        }
      }
      if (!worked && !this.#woken && !this.#closed) {
        await this.#sleep();
      }
    }
  }

  /** Waits for a wake-up or the poll interval, whichever comes first. */
  #sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.#opts.pollIntervalMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.#wakeUp = null;
        resolve();
      }
      this.#wakeUp = done;
    });
  }

  /**
   * Claims and runs one item; false when there was none. Returns once the item no longer needs the runtime:
   * its image is saved and it is finished in the background (the "tail") while the next item's inference
   * starts, so the accelerator does not wait for PNG encoding, file writes and database updates. The next
   * claim waits for the tail before, so at most two items are in progress.
   */
  async #runNext(ctx: ServiceContext): Promise<boolean> {
    const row = await startNextItem(ctx, this.#opts.queueId, this.#opts.fairness);
    if (!row) {
      return false;
    }
    let inferenceDone: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      inferenceDone = resolve;
    });
    const previous = this.#tail;
    // Once this item is done with the runtime it waits for the item before to finish, so items finish in
    // the order they started.
    const whole = this.#execute(ctx, row, () => {
      inferenceDone();
      return previous;
    });
    await Promise.race([whole, released]);
    // The item before must be done before another is claimed: at most two items are in progress.
    await previous;
    this.#tail = whole;
    return true;
  }

  /** Runs one claimed item to its end and records how it ended; never throws. */
  async #execute(ctx: ServiceContext, row: ItemRow, inferenceDone: () => Promise<void>): Promise<void> {
    const running: Running = { itemId: row.itemId, sessionId: row.sessionId, canceled: false };
    this.#running.set(row.itemId, running);
    const log = { item_id: row.itemId, session_id: row.sessionId, user_id: row.userId };
    const startedAt = performance.now();
    this.#opts.logger.info('item started', log);
    try {
      await runSession(
        {
          itemId: row.itemId,
          queueId: row.queueId,
          batchId: row.batchId,
          sessionId: row.sessionId,
          userId: row.userId,
          graph: (row.session as { graph: Graph }).graph,
        },
        {
          runtime: this.#opts.runtime,
          events: ctx.channels,
          isCanceled: () => running.canceled,
          inferenceDone,
          saveImage: (request) =>
            this.#opts.saveImage(
              ctx,
              { userId: row.userId, itemId: row.itemId, sessionId: row.sessionId },
              request,
            ),
        },
      );
      await finishItem(ctx, row.itemId, { status: 'completed' });
      this.#opts.logger.info('item completed', {
        ...log,
        duration_ms: Math.round(performance.now() - startedAt),
      });
    } catch (err) {
      await this.#recordFailure(ctx, row.itemId, log, err).catch((e: unknown) =>
        this.#opts.logger.error('could not record how an item ended', {
          ...log,
          err: e instanceof Error ? e.stack : String(e),
        }),
      );
    } finally {
      this.#running.delete(row.itemId);
      await inferenceDone();
    }
  }

  async #recordFailure(ctx: ServiceContext, itemId: number, log: Record<string, unknown>, err: unknown) {
    if (this.#closed) {
      // The server is stopping: the item stays `in_progress` and is recovered at the next start.
      this.#opts.logger.warn('item interrupted by shutdown', log);
    } else if (err instanceof RuntimeCanceled) {
      // The cancel service already wrote and published `canceled`.
      this.#opts.logger.info('item canceled', log);
    } else {
      const failure =
        err instanceof RuntimeError
          ? err
          : new RuntimeError(
              'InternalError',
              err instanceof Error ? err.message : String(err),
              err instanceof Error ? (err.stack ?? null) : null,
            );
      await finishItem(ctx, itemId, {
        status: 'failed',
        errorType: failure.errorType,
        errorMessage: failure.message,
        errorTraceback: failure.traceback,
      });
      this.#opts.logger.warn('item failed', {
        ...log,
        error_type: failure.errorType,
        error_message: failure.message,
      });
    }
  }
}
