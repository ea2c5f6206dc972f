import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { ForbiddenError } from '../../core/errors.ts';
import { assertQueue } from './internal.ts';

/**
 * Pauses (no new item starts on any process; running ones finish) or resumes the queue (admin); kept in the
 * database across restarts.
 */
export async function setProcessorRunning({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { queueId: string; running: boolean };
}) {
  assertQueue(input.queueId);
  if (!requireActor(ctx.actor).isAdmin) {
    throw new ForbiddenError('This action needs an admin.');
  }
  return input.running ? ctx.workers.resume(input.queueId) : ctx.workers.pause(input.queueId);
}
