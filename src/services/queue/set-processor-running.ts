import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { ForbiddenError } from '../../core/errors.ts';
import { assertQueue } from './internal.ts';

/** Pauses (no new item starts; the running one finishes) or resumes the processor (admin). */
export function setProcessorRunning({
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
  return input.running ? ctx.workers.resume() : ctx.workers.pause();
}
