import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { loggableError } from '../../core/logger.ts';
import type { AppEnv } from '../types.ts';

/** The route template that answered (`/api/v1/users/:user_id`), or `unmatched`. */
function routeOf(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  const handlers = matchedRoutes(c).filter((r) => r.method !== 'ALL');
  return handlers.at(-1)?.path ?? 'unmatched';
}

/**
 * One structured log line per request (method, path, route, status, duration, user, outcome, error) and the
 * request metrics. Mount it right after the request id.
 * @example app.use(requestId()); app.use(wideEvent());
 */
export const wideEvent = (): MiddlewareHandler<AppEnv> =>
  async function wideEvent(c, next) {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const { logger, metrics } = c.var.deps;
    const route = routeOf(c);
    const status = c.res.status;
    metrics.observe(c.req.method, route, status, seconds);
    const fields = {
      request_id: c.var.requestId,
      method: c.req.method,
      path: c.req.path,
      route,
      status,
      duration_ms: Math.round(seconds * 100_000) / 100,
      user_id: c.var.user?.userId ?? null,
      outcome: status >= 500 ? 'error' : status >= 400 ? 'rejected' : 'ok',
      ...(c.error ? { error: loggableError(c.error).error } : {}),
    };
    if (status >= 500) {
      logger.error('request', fields);
    } else {
      logger.info('request', fields);
    }
  };
