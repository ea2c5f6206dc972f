import type { MiddlewareHandler } from 'hono';
import type { AuthUser } from '../../core/actor.ts';
import { AuthError, ForbiddenError } from '../../core/errors.ts';
import { authenticate } from '../../services/auth/authenticate.ts';
import { SYSTEM_USER_ID } from '../../services/users/user-dto.ts';
import { serviceContext } from '../service-context.ts';
import type { AppEnv } from '../types.ts';

export interface AuthOptions {
  /** `single`: every request is the admin user `system`; `multiuser`: bearer tokens. */
  mode: 'multiuser' | 'single';
  /** Full paths that need no token (login, setup, status). */
  publicPaths: readonly string[];
  /**
   * Full paths (or patterns) where a token is checked when sent, and its absence is left to the route (the
   * event stream, signed image URLs).
   */
  optionalPaths?: readonly (string | RegExp)[];
}

/** The acting user of single-user mode. */
export const singleUser: AuthUser = {
  userId: SYSTEM_USER_ID,
  email: 'system',
  isAdmin: true,
  via: 'single',
  token: null,
};

/** The bearer token of a request, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer[ ]+([^\s]+)\s*$/i);
  return match?.[1];
}

/**
 * Authenticates every request of the protected sub-app before routing, so an unknown path is 401 without a
 * valid token and 404 with one. Sets `c.var.user`; throws `AuthError` (401 with `WWW-Authenticate`).
 * @example api.use('*', auth({ mode: 'multiuser', publicPaths: ['/api/v1/auth/login'] }));
 */
export const auth = (opts: AuthOptions): MiddlewareHandler<AppEnv> => {
  const publicPaths = new Set(opts.publicPaths);
  const optionalPaths = new Set(opts.optionalPaths?.filter((p) => typeof p === 'string'));
  const optionalPatterns = opts.optionalPaths?.filter((p) => p instanceof RegExp) ?? [];
  const isOptional = (path: string) => optionalPaths.has(path) || optionalPatterns.some((p) => p.test(path));
  return async function auth(c, next) {
    if (opts.mode === 'single') {
      c.set('user', singleUser);
      return next();
    }
    if (publicPaths.has(c.req.path)) {
      return next();
    }
    const token = bearerToken(c.req.header('Authorization'));
    if (!token && isOptional(c.req.path) && c.req.header('Authorization') === undefined) {
      return next();
    }
    if (!token) {
      throw new AuthError('unauthorized', 'A bearer token is required.', { missingToken: true });
    }
    c.set('user', await authenticate({ ctx: serviceContext(c), input: { token } }));
    return next();
  };
};

/**
 * Requires an admin; mount after `auth`.
 * @example usersRouter.use('*', requireAdmin());
 */
export const requireAdmin = (): MiddlewareHandler<AppEnv> =>
  async function requireAdmin(c, next) {
    if (!c.var.user?.isAdmin) {
      throw new ForbiddenError('This action needs an admin.');
    }
    return next();
  };
