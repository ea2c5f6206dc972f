import { type QueueSettings, type ServiceContext, withTransaction } from '../core/context.ts';
import { isDatabaseUnavailable, whileDatabaseAway } from '../core/database-away.ts';
import type { DbOrTx } from '../core/db.ts';
import { type Logger, loggableError } from '../core/logger.ts';
import type { Notifier } from '../core/notifier.ts';
import { readableImageFile } from '../images/readable.ts';
import { type ItemRow, toQueueItem } from '../queue/item-dto.ts';
import { publishStatusChanged } from '../queue/publish.ts';
import type { Graph } from '../runtime/graph-schema.ts';
import { type InferenceRuntime, RuntimeCanceled } from '../runtime/interface.ts';
import { publicFailure } from '../runtime/public-failure.ts';
import { claimNext } from './claim.ts';
import { type FinishInput, finishItem, type LeaseRef, renewLease } from './leases.ts';
import {
  countItemDone,
  heartbeat,
  markBusy,
  markIdle,
  registerWorker,
  type WorkerIdentity,
} from './registry.ts';
import { runSession, type SaveImageRequest } from './run-session.ts';
import { type SaveTimer, saveGeneratedImage } from './save-image.ts';
import { SharedWorkers, type SharedWorkersOptions } from './shared.ts';
import { sweepLapsed } from './sweep.ts';
import { onQueueChange } from './wakeup.ts';

/** One worker: a device and the inference runtime (its own child process) that runs on it. */
export interface WorkerSpec {
  device: string;
  runtime: InferenceRuntime;
}

export interface WorkerPoolOptions extends SharedWorkersOptions {
  logger: Logger;
  fairness: QueueSettings['fairness'];
  /** The workers, one per `DEVICES` entry; `runtime` alone is one `cpu` worker. */
  workers?: WorkerSpec[];
  runtime?: InferenceRuntime;
  /** Names this process in worker ids (`<nodeId>/<index>:<device>`). */
  nodeId?: string;
  /** Writes a generated image and returns its name; the images service unless a test replaces it. */
  saveImage?: ImageSaver;
  queueId?: string;
  /**
   * How often an idle worker looks for work it was not woken for. With a `notifier`, enqueue, resume and
   * re-queue anywhere wake it at once; without one, only this process's.
   */
  pollIntervalMs?: number;
  /** Queue changes announced by any process (`QUEUE_NOTIFY`). */
  notifier?: Notifier;
  /**
   * At start, re-queue every `in_progress` item whatever its lease (PGlite: this is the only process);
   * otherwise only lapsed ones.
   */
  recoverAll?: boolean;
}

/**
 * Writes a generated image; `leased` settles once the item's lease is renewed for the save (it runs beside
 * the encoding) and rejects with `LeaseLost` when the item was lost: nothing may be written before it
 * resolves.
 */
export type ImageSaver = (
  ctx: ServiceContext,
  owner: { userId: string; itemId: number; sessionId: string },
  request: SaveImageRequest,
  leased: Promise<void>,
  onTimed?: SaveTimer,
) => Promise<{ image_name: string }>;

/** Saves through the images service: files first, then the row, in the owner's gallery. */
const saveWithImagesService: ImageSaver = (ctx, owner, request, leased, onTimed) =>
  saveGeneratedImage({
    onTimed,
    leased,
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

/** The worker no longer holds the item's lease: it stops and writes nothing more for the item. */
export class LeaseLost extends RuntimeCanceled {
  override name = 'LeaseLost';
}

interface Running {
  itemId: number;
  sessionId: string;
  canceled: boolean;
  /** The lease was lost (lapsed and maybe re-queued, canceled or deleted elsewhere). */
  lost: boolean;
  /**
   * Its outcome is being written: a renewal refused from now on may only have met that write (which ends
   * the lease); the write itself tells whether the lease was lost.
   */
  ending: boolean;
  /** The worker's registry row was updated in the outcome's transaction (nothing left to write for it). */
  registered: boolean;
  lane: Lane;
}

/** One worker's state: its identity, runtime, and the items it runs (one in inference, one saving). */
interface Lane {
  id: WorkerIdentity;
  runtime: InferenceRuntime;
  running: Map<number, Running>;
  /** The previous item's save-and-finish, still going while the next item's inference starts. */
  tail: Promise<void>;
  wakeUp: (() => void) | null;
  woken: boolean;
  loop: Promise<void> | null;
}

/**
 * This process's workers, one per device, each with its own runtime: each claims the next item in the
 * queue's order (round-robin across users or fifo) with a lease, renews the lease while the item runs,
 * and records every transition in the database before publishing it. A worker whose lease is lost stops
 * the item and writes nothing more for it. Pausing (shared by every process) lets running items finish and
 * starts no other; `cancel` stops a running item before its next step. Implements the `Workers` port.
 * @example const pool = new WorkerPool({ db, clock, runtime, logger, fairness }); await pool.start(ctx);
 */
export class WorkerPool extends SharedWorkers {
  readonly #opts: Required<Omit<WorkerPoolOptions, 'notifier' | 'runtime' | 'workers' | 'logger'>> & {
    notifier?: Notifier;
    logger: Logger;
  };
  readonly #lanes: Lane[];
  #ctx: ServiceContext | null = null;
  #closed = false;
  /** Aborted by `close()`: ends the waits for the database to come back. */
  readonly #closing = new AbortController();
  #timer: ReturnType<typeof setInterval> | null = null;
  #unlisten: (() => Promise<void>) | null = null;

  constructor(opts: WorkerPoolOptions) {
    super(opts);
    this.#opts = {
      queueId: 'default',
      pollIntervalMs: 5000,
      saveImage: saveWithImagesService,
      nodeId: 'local',
      recoverAll: false,
      leaseSeconds: this.shared.leaseSeconds,
      ...opts,
    };
    const specs = opts.workers ?? (opts.runtime ? [{ device: 'cpu', runtime: opts.runtime }] : []);
    this.#lanes = specs.map((spec, index) => ({
      id: {
        workerId: `${this.#opts.nodeId}/${index}:${spec.device}`,
        nodeId: this.#opts.nodeId,
        device: spec.device,
      },
      runtime: spec.runtime,
      running: new Map(),
      tail: Promise.resolve(),
      wakeUp: null,
      woken: false,
      loop: null,
    }));
  }

  /** The worker ids, in `DEVICES` order. */
  get workerIds(): string[] {
    return this.#lanes.map((l) => l.id.workerId);
  }

  /**
   * Re-queues items whose worker stopped (all `in_progress` ones with `recoverAll`), registers the workers,
   * listens for queue changes, then starts taking work.
   */
  async start(ctx: ServiceContext): Promise<void> {
    this.#ctx = ctx;
    await sweepLapsed(ctx, this.#opts.logger, { ignoreLeases: this.#opts.recoverAll });
    for (const lane of this.#lanes) {
      await registerWorker(ctx.db, lane.id, ctx.clock.now());
    }
    if (this.#opts.notifier) {
      this.#unlisten = await onQueueChange(
        this.#opts.notifier,
        (notice) => {
          if (notice.queue_id !== this.#opts.queueId) {
            return;
          }
          if (notice.change === 'canceled') {
            for (const itemId of notice.item_ids ?? []) {
              this.cancelLocal(itemId);
            }
          } else if (notice.change !== 'paused') {
            this.wakeLocal();
          }
        },
        () => this.wakeLocal(),
      );
    }
    // Heartbeats and lease renewals, three times per lease.
    this.#timer = setInterval(() => void this.renewLeases(), (this.#opts.leaseSeconds * 1000) / 3);
    for (const lane of this.#lanes) {
      lane.loop = this.#run(ctx, lane);
    }
  }

  /**
   * An item whose outcome is being written, or that was canceled, no longer counts: its `completed`, `failed`
   * or `canceled` event can reach a tab, through another process, before this one has let go of the item, and
   * a status read after that event must not say a worker still runs it.
   */
  protected override isProcessing(): boolean {
    return this.#lanes.some((l) => [...l.running.values()].some((r) => !r.ending && !r.canceled));
  }

  protected override cancelLocal(itemId: number): void {
    for (const lane of this.#lanes) {
      const running = lane.running.get(itemId);
      if (running && !running.canceled) {
        running.canceled = true;
        lane.runtime.cancel(running.sessionId);
      }
    }
  }

  protected override wakeLocal(): void {
    for (const lane of this.#lanes) {
      lane.woken = true;
      lane.wakeUp?.();
    }
  }

  /**
   * Renews the lease of every running item and records the workers' heartbeats (the interval calls it; tests
   * call it directly). An item whose renewal fails is stopped: its lease was lost.
   */
  async renewLeases(): Promise<void> {
    const ctx = this.#ctx;
    if (!ctx || this.#closed) {
      return;
    }
    try {
      for (const lane of this.#lanes) {
        if (!(await heartbeat(ctx.db, lane.id.workerId, ctx.clock.now()))) {
          await registerWorker(ctx.db, lane.id, ctx.clock.now());
        }
        for (const running of [...lane.running.values()]) {
          if (running.lost) {
            continue;
          }
          const ref = { itemId: running.itemId, workerId: lane.id.workerId };
          if (!(await renewLease(ctx.db, ref, ctx.clock.now(), this.#opts.leaseSeconds)) && !running.ending) {
            this.#loseLease(running);
          }
        }
      }
    } catch (err) {
      // The database is unreachable: the leases may lapse; the next renewal tells.
      this.#opts.logger.error('lease renewal failed', loggableError(err));
    }
  }

  #loseLease(running: Running): void {
    if (running.lost) {
      return;
    }
    running.lost = true;
    this.#opts.logger.warn('lease lost: stopping the item', {
      item_id: running.itemId,
      worker_id: running.lane.id.workerId,
    });
    running.lane.runtime.cancel(running.sessionId);
  }

  /**
   * Stops taking work and waits for the loops to end. Running items are stopped and left `in_progress`, for
   * the lease sweep (or the next start) to re-queue: they were not canceled by anyone.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
    if (this.#timer) {
      clearInterval(this.#timer);
    }
    for (const lane of this.#lanes) {
      for (const itemId of lane.running.keys()) {
        this.cancelLocal(itemId);
      }
    }
    this.wakeLocal();
    await Promise.all(
      this.#lanes.map(async (lane) => {
        await lane.loop;
        await lane.tail;
      }),
    );
    await this.#unlisten?.();
  }

  async #run(ctx: ServiceContext, lane: Lane): Promise<void> {
    while (!this.#closed) {
      lane.woken = false;
      let worked = false;
      try {
        worked = await this.#runNext(ctx, lane);
      } catch (err) {
        // A database error while claiming: log it and try again after the poll interval, or once the queue's
        // notifications listen again after the database came back.
        if (isDatabaseUnavailable(err)) {
          this.#opts.logger.warn('database unavailable: claims wait for it', {
            worker_id: lane.id.workerId,
            ...loggableError(err),
          });
        } else {
          this.#opts.logger.error('worker step failed', {
            worker_id: lane.id.workerId,
            ...loggableError(err),
          });
        }
      }
      if (!worked && !lane.woken && !this.#closed) {
        await this.#sleep(lane);
      }
    }
  }

  /** Waits for a wake-up or the poll interval, whichever comes first. */
  #sleep(lane: Lane): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.#opts.pollIntervalMs);
      function done() {
        clearTimeout(timer);
        lane.wakeUp = null;
        resolve();
      }
      lane.wakeUp = done;
    });
  }

  /**
   * Claims and runs one item; false when there was none (or the queue is paused). Returns once the item no
   * longer needs the runtime: its image is saved and it is finished in the background (the lane's "tail")
   * while the next item's inference starts. The next claim waits for the tail before, so at most two items
   * of a worker are in progress.
   */
  async #runNext(ctx: ServiceContext, lane: Lane): Promise<boolean> {
    // The claim, the worker's state and the claim's event commit together (the event's log row with them).
    const claiming = performance.now();
    const row = await withTransaction(ctx, async (tx) => {
      const claimed = await claimNext(tx.db, {
        queueId: this.#opts.queueId,
        fairness: this.#opts.fairness,
        workerId: lane.id.workerId,
        device: lane.id.device,
        now: tx.clock.now(),
        leaseSeconds: this.#opts.leaseSeconds,
      });
      if (claimed) {
        // Sent together (one round trip on PostgreSQL): neither reads what the other writes.
        await Promise.all([
          markBusy(tx.db, lane.id.workerId, claimed.itemId, tx.clock.now()),
          publishStatusChanged(tx.db, tx.channels, toQueueItem(claimed)),
        ]);
      }
      return claimed;
    });
    if (!row) {
      return false;
    }
    const running: Running = {
      itemId: row.itemId,
      sessionId: row.sessionId,
      canceled: false,
      lost: false,
      ending: false,
      registered: false,
      lane,
    };
    lane.running.set(row.itemId, running);
    let inferenceDone: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      inferenceDone = resolve;
    });
    const previous = lane.tail;
    // Once this item is done with the runtime it waits for the item before to finish, so a worker's items
    // finish in the order they started.
    const claimMs = performance.now() - claiming;
    const whole = this.#execute(ctx, row, running, claimMs, () => {
      inferenceDone();
      return previous;
    });
    await Promise.race([whole, released]);
    await previous;
    lane.tail = whole;
    return true;
  }

  /** Runs one claimed item to its end and records how it ended; never throws. */
  async #execute(
    ctx: ServiceContext,
    row: ItemRow,
    running: Running,
    claimMs: number,
    inferenceDone: () => Promise<void>,
  ): Promise<void> {
    const { lane } = running;
    const ref: LeaseRef = { itemId: row.itemId, workerId: lane.id.workerId };
    const log = {
      item_id: row.itemId,
      session_id: row.sessionId,
      user_id: row.userId,
      worker_id: lane.id.workerId,
    };
    const startedAt = performance.now();
    // Where the item's time went (ms), for its `item completed` line: operators and bench:runtime read it.
    const timings: Record<string, number> = { claim: claimMs };
    const timed = (step: string, ms: number) => {
      timings[step] = (timings[step] ?? 0) + ms;
    };
    let counted = false;
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
          runtime: lane.runtime,
          events: ctx.channels,
          isCanceled: () => running.canceled || running.lost,
          inferenceDone,
          onTimed: timed,
          saveImage: (request) =>
            this.#untilRecorded('save the image', log, () =>
              this.#saveLeased(ctx, ref, running, row, request, timed),
            ),
          readImage: (imageName) =>
            this.#untilRecorded('read the starting image', log, () =>
              readableImageFile(ctx.db, ctx.blobs, row.userId, imageName),
            ),
        },
      );
      const finishing = performance.now();
      counted = await this.#finish(ctx, ref, running, { status: 'completed' });
      timed('finish', performance.now() - finishing);
      if (counted) {
        this.#opts.logger.info('item completed', {
          ...log,
          duration_ms: Math.round(performance.now() - startedAt),
          timings_ms: Object.fromEntries(
            Object.entries(timings).map(([k, ms]) => [k, Math.round(ms * 10) / 10]),
          ),
        });
      }
    } catch (err) {
      // Done with the runtime too: the item before finishes first, so outcomes keep the order of the starts.
      await inferenceDone();
      counted = await this.#recordFailure(ctx, ref, running, log, err).catch((e: unknown) => {
        this.#opts.logger.error('could not record how an item ended', { ...log, ...loggableError(e) });
        return false;
      });
    } finally {
      lane.running.delete(row.itemId);
      if (!running.registered) {
        await this.#untilRecorded('update the worker registry', log, () =>
          this.#markDone(ctx.db, lane, ctx.clock.now(), counted),
        ).catch((e: unknown) =>
          this.#opts.logger.error('could not update the worker registry', { ...log, ...loggableError(e) }),
        );
      }
      await inferenceDone();
    }
  }

  /**
   * The worker's item ended: idle unless it already runs the next one (`except`: the ended item, when it is
   * still in `lane.running`). No next item can be claimed meanwhile: a claim waits for the item before.
   */
  async #markDone(db: DbOrTx, lane: Lane, now: Date, counted: boolean, except?: number): Promise<void> {
    const next = [...lane.running.keys()].some((id) => id !== except);
    if (next) {
      await countItemDone(db, lane.id.workerId, now, counted);
    } else {
      await markIdle(db, lane.id.workerId, now, counted);
    }
  }

  /**
   * Saves an image only while the lease is held: the lease is renewed while the image is encoded (a full
   * lease ahead for the save), and nothing is written before the renewal succeeded. Not one transaction with
   * the image's row: on PGlite that would hold the one connection while the PNG is encoded and written,
   * stalling every other worker.
   */
  async #saveLeased(
    ctx: ServiceContext,
    ref: LeaseRef,
    running: Running,
    row: ItemRow,
    request: SaveImageRequest,
    timed: (step: string, ms: number) => void,
  ): Promise<{ image_name: string }> {
    const renewing = performance.now();
    const leased = (async () => {
      if (running.lost || !(await renewLease(ctx.db, ref, ctx.clock.now(), this.#opts.leaseSeconds))) {
        this.#loseLease(running);
        throw new LeaseLost(`worker ${ref.workerId} lost the lease of item ${ref.itemId}`);
      }
      timed('lease', performance.now() - renewing);
    })();
    // Handled below (a saver that never waited for it still fails the item); the saver waits before writing.
    leased.catch(() => {});
    const saved = await this.#opts.saveImage(
      ctx,
      { userId: row.userId, itemId: row.itemId, sessionId: row.sessionId },
      request,
      leased,
      timed,
    );
    await leased;
    return saved;
  }

  /**
   * Runs a step of an item that must reach the database, again and again while the database is away
   * (PostgreSQL restarting, a dropped connection), until it does or the pool closes.
   */
  #untilRecorded<T>(what: string, log: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
    return whileDatabaseAway(fn, {
      signal: this.#closing.signal,
      onWait: (err, attempt) => {
        if (attempt === 1) {
          this.#opts.logger.warn(`database unavailable: will ${what} once it is back`, {
            ...log,
            ...loggableError(err),
          });
        }
      },
    });
  }

  /** Writes the outcome if the lease is still held, then publishes it; false when the lease was lost. */
  async #finish(ctx: ServiceContext, ref: LeaseRef, running: Running, input: FinishInput): Promise<boolean> {
    if (running.lost) {
      return false;
    }
    running.ending = true;
    // The outcome and its event commit together, once the database is there to take them.
    const done = await this.#untilRecorded(`record the item ${input.status}`, { item_id: ref.itemId }, () =>
      withTransaction(ctx, async (tx) => {
        const finished = await finishItem(tx.db, ref, input, tx.clock.now());
        if (finished) {
          // Sent together (one round trip on PostgreSQL), and the worker's registry row with them.
          await Promise.all([
            publishStatusChanged(tx.db, tx.channels, toQueueItem(finished)),
            this.#markDone(tx.db, running.lane, tx.clock.now(), true, ref.itemId),
          ]);
        }
        return finished;
      }),
    );
    if (!done) {
      this.#loseLease(running);
      return false;
    }
    running.registered = true;
    return true;
  }

  async #recordFailure(
    ctx: ServiceContext,
    ref: LeaseRef,
    running: Running,
    log: Record<string, unknown>,
    err: unknown,
  ): Promise<boolean> {
    if (running.lost) {
      this.#opts.logger.warn('item stopped: lease lost, nothing written', log);
      return false;
    }
    if (this.#closed) {
      // The server is stopping: the item stays `in_progress` until its lease lapses or the next start.
      this.#opts.logger.warn('item interrupted by shutdown', log);
      return false;
    }
    if (err instanceof RuntimeCanceled) {
      // The cancel service already wrote and published `canceled`.
      this.#opts.logger.info('item canceled', log);
      return true;
    }
    // Shown to the owner without paths or frames; the log gets the whole error.
    const failure = publicFailure(err, 'InternalError');
    const recorded = await this.#finish(ctx, ref, running, {
      status: 'failed',
      errorType: failure.errorType,
      errorMessage: failure.message,
      errorTraceback: failure.traceback,
    });
    if (recorded) {
      this.#opts.logger.warn('item failed', {
        ...log,
        error_type: failure.errorType,
        error_message: failure.message,
        ...fullError(failure.cause),
      });
    }
    return recorded;
  }
}

/** A failure's whole story for the log: the child's traceback when it sent one, else the error's own. */
function fullError(err: unknown): Record<string, unknown> {
  const traceback = (err as { traceback?: unknown } | undefined)?.traceback;
  return { ...loggableError(err), ...(typeof traceback === 'string' ? { traceback } : {}) };
}
