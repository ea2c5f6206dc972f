import type { MiddlewareHandler } from 'hono';
import { refreshToken as issueRefresh } from '../../services/auth/refresh.ts';
import { serviceContext } from '../service-context.ts';
import type { AppEnv } from '../types.ts';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface RefreshTokenOptions {
  /** Full paths that never refresh (login, setup, logout). */
  exceptPaths: readonly string[];
}

/**
 * The sliding refresh: a successful (status < 400) POST, PUT, PATCH or DELETE made with a valid token
 * answers `X-Refreshed-Token`, a fresh token of the same class. A handler's own replacement (password
 * change) wins. GET, HEAD and unauthenticated requests never get one.
 * @example api.use('*', auth(opts)); api.use('*', refreshToken({ exceptPaths: ['/api/v1/auth/logout'] }));
 */
export const refreshToken = (opts: RefreshTokenOptions): MiddlewareHandler<AppEnv> => {
  const except = new Set(opts.exceptPaths);
  return async function refreshToken(c, next) {
    await next();
    if (c.res.status >= 400 || except.has(c.req.path)) {
      return;
    }
    const token =
      c.var.refreshedToken ??
      (MUTATING.has(c.req.method) ? await issueRefresh({ ctx: serviceContext(c) }) : undefined);
    if (token) {
      c.header('X-Refreshed-Token', token);
    }
  };
};
