import { type ServiceContext, withTransaction } from '../core/context.ts';
import { type Logger, loggableError } from '../core/logger.ts';
import { toQueueItem } from '../queue/item-dto.ts';
import { publishStatusChanged } from '../queue/publish.ts';
import { requeueLapsed } from './leases.ts';

/**
 * Puts items whose lease lapsed back to `pending` (the third interruption fails them) and publishes each
 * change. `ignoreLeases`: every `in_progress` item, for the start of the one process on a PGlite database.
 * @example await sweepLapsed(ctx, logger, { ignoreLeases: true });
 */
export async function sweepLapsed(
  ctx: ServiceContext,
  logger: Logger,
  opts: { ignoreLeases?: boolean } = {},
): Promise<{ requeued: number[]; failed: number[] }> {
  // The re-queues and their events commit together.
  const { requeued, failed, changed } = await withTransaction(ctx, async (tx) => {
    const lapsed = await requeueLapsed(tx.db, tx.clock.now(), opts);
    const all = [...lapsed.requeued, ...lapsed.failed].sort((a, b) => a.item.itemId - b.item.itemId);
    for (const { item } of all) {
      await publishStatusChanged(tx.db, tx.channels, toQueueItem(item));
    }
    return { ...lapsed, changed: all };
  });
  const result = { requeued: requeued.map((r) => r.item.itemId), failed: failed.map((r) => r.item.itemId) };
  if (changed.length > 0) {
    logger.warn('re-queued items whose worker stopped', {
      ...result,
      previous_workers: [...new Set(changed.map((r) => r.previousWorkerId))],
    });
  }
  return result;
}

/**
 * Runs `sweepLapsed` every `intervalMs` in any process (`all`, `worker` and `api`), so that an item whose
 * process died is back within `LEASE_SECONDS` + the interval.
 * @example const sweeper = new LeaseSweeper(ctx, logger, 5000); sweeper.start(); … await sweeper.close();
 */
export class LeaseSweeper {
  #timer: ReturnType<typeof setInterval> | null = null;
  #running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.#timer = setInterval(() => {
      this.#running = this.#running.then(() =>
        sweepLapsed(this.ctx, this.logger).catch((err: unknown) =>
          this.logger.error('lease sweep failed', loggableError(err)),
        ),
      );
    }, this.intervalMs);
  }

  async close(): Promise<void> {
    if (this.#timer) {
      clearInterval(this.#timer);
    }
    await this.#running;
  }
}
