import type { ServiceContext } from '../context.ts';
import { ForbiddenError } from '../errors.ts';
import { assertQueue, requireActor } from './access.ts';

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
  return input.running ? ctx.processor.resume() : ctx.processor.pause();
}
