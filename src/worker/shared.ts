import type { Clock } from '../core/clock.ts';
import type { DbOrTx } from '../core/db.ts';
import { type Logger, loggableError } from '../core/logger.ts';
import type { ProcessorStatus, WorkerStats, Workers, WorkerView } from '../core/workers.ts';
import { DEFAULT_LEASE_SECONDS, isQueuePaused, setQueuePaused } from './claim.ts';
import { listWorkers, workerStats } from './registry.ts';
import { announceQueue } from './wakeup.ts';

export interface SharedWorkersOptions {
  db: DbOrTx;
  clock: Clock;
  leaseSeconds?: number;
  logger?: Logger;
}

/**
 * What every process shares of the workers, whether it runs any: the pause flag (`queue_state`, seen by
 * every claim), the worker registry, and the wake-up notice (`QUEUE_NOTIFY`) that tells the workers of every
 * process to look for work. `WorkerPool` adds this process's workers.
 */
export class SharedWorkers implements Workers {
  protected readonly shared: Required<Omit<SharedWorkersOptions, 'logger'>> & { logger?: Logger };

  constructor(opts: SharedWorkersOptions) {
    this.shared = { leaseSeconds: DEFAULT_LEASE_SECONDS, ...opts };
  }

  /** Whether a worker of this process runs an item. */
  protected isProcessing(): boolean {
    return false;
  }

  async status(queueId: string): Promise<ProcessorStatus> {
    const paused = await isQueuePaused(this.shared.db, queueId);
    return { is_started: !paused, is_processing: this.isProcessing() };
  }

  async pause(queueId: string): Promise<ProcessorStatus> {
    await setQueuePaused(this.shared.db, queueId, true, this.shared.clock.now());
    this.shared.logger?.info('processor paused', { queue_id: queueId });
    return this.status(queueId);
  }

  async resume(queueId: string): Promise<ProcessorStatus> {
    await setQueuePaused(this.shared.db, queueId, false, this.shared.clock.now());
    this.shared.logger?.info('processor resumed', { queue_id: queueId });
    this.wakeLocal();
    return this.status(queueId);
  }

  /**
   * Stops a canceled item wherever it runs: a worker of this process at once, a worker of another process
   * when it hears the notice (rather than at its next lease renewal).
   */
  cancel(itemId: number): void {
    this.cancelLocal(itemId);
    announceQueue(this.shared.db, 'default', 'canceled', [itemId]).catch((err: unknown) =>
      this.shared.logger?.warn('could not announce the cancel', { item_id: itemId, ...loggableError(err) }),
    );
  }

  /** Stops the item if a worker of this process runs it. */
  protected cancelLocal(_itemId: number): void {}

  /** Tells the workers of every process (this one's at once) that items were enqueued. */
  wake(): void {
    this.wakeLocal();
    announceQueue(this.shared.db, 'default', 'enqueued').catch((err: unknown) =>
      this.shared.logger?.warn('could not announce the queue change', loggableError(err)),
    );
  }

  /** Wakes this process's workers. */
  protected wakeLocal(): void {}

  list(): Promise<WorkerView[]> {
    return listWorkers(this.shared.db, this.shared.clock.now(), this.shared.leaseSeconds);
  }

  stats(): Promise<WorkerStats[]> {
    return workerStats(this.shared.db);
  }
}
