import type { Context } from 'hono';
import type { ServiceContext } from '../core/context.ts';
import { contextFromDeps } from '../deps.ts';
import type { AppEnv } from './types.ts';

/**
 * The service context of a request: the deps, the request id, and the acting user when there is one.
 * @example const user = await getUser({ ctx: serviceContext(c), input: { userId } });
 */
export function serviceContext(c: Context<AppEnv>): ServiceContext {
  return contextFromDeps(c.var.deps, c.var.requestId, c.var.user ?? null);
}
