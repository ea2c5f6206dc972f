import { requireAdmin } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import type { WorkerView } from '../../core/workers.ts';

/**
 * Every worker of every process sharing the database (admin), by worker id: `gone` when not seen for the
 * lease plus 10 s (API.md section 8).
 * @example const workers = await listWorkers({ ctx });
 */
export function listWorkers({ ctx }: { ctx: ServiceContext }): Promise<WorkerView[]> {
  requireAdmin(ctx.actor);
  return ctx.workers.list();
}
