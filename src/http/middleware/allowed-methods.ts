import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.ts';
import type { AppEnv } from '../types.ts';

interface RouteEntry {
  method: string;
  path: string;
}

/** A Hono route path (`/a/:id{[0-9]+}/b/*`) as an anchored regular expression. */
function pathPattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => {
      if (segment === '*') {
        return '.*';
      }
      const param = /^:[A-Za-z0-9_]+(?:\{(.+)\})?$/.exec(segment);
      if (param) {
        return param[1] ? `(?:${param[1]})` : '[^/]+';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/**
 * API.md section 1: a known path asked with a method it does not have is 405 with `Allow`, for any valid
 * token, before a router's own guards (an admin check would otherwise answer 403). Runs after
 * authentication; `routes` is read once, on the first request, when every router is mounted.
 * @example api.use(allowedMethods(() => app.routes));
 */
export const allowedMethods = (routes: () => readonly RouteEntry[]): MiddlewareHandler<AppEnv> => {
  let table: { pattern: RegExp; method: string }[] | undefined;
  return async function allowedMethods(c, next) {
    table ??= routes()
      .filter((r) => r.method !== 'ALL')
      .map((r) => ({ pattern: pathPattern(r.path), method: r.method }));
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    const matching = table.filter((r) => r.pattern.test(c.req.path));
    if (method !== 'OPTIONS' && matching.length > 0 && !matching.some((r) => r.method === method)) {
      const allow = [
        ...new Set(matching.flatMap((r) => (r.method === 'GET' ? ['GET', 'HEAD'] : [r.method]))),
      ];
      throw new ApiError('method_not_allowed', `${c.req.path} does not answer ${c.req.method}.`, {
        headers: { Allow: allow.sort().join(', ') },
      });
    }
    await next();
  };
};
