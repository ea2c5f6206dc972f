import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.ts';
import type { AppEnv } from '../types.ts';

/** How many paths' methods are kept (then forgotten all at once): ids make most paths rare. */
const KNOWN_PATHS = 2000;

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
  // The methods of each path asked lately: a hot path (a list, a status poll) is matched against every
  // route's pattern once, not on every request.
  const known = new Map<string, ReadonlySet<string>>();
  const methodsOf = (path: string): ReadonlySet<string> => {
    let methods = known.get(path);
    if (!methods) {
      table ??= routes()
        .filter((r) => r.method !== 'ALL')
        .map((r) => ({ pattern: pathPattern(r.path), method: r.method }));
      methods = new Set(table.filter((r) => r.pattern.test(path)).map((r) => r.method));
      if (known.size >= KNOWN_PATHS) {
        known.clear();
      }
      known.set(path, methods);
    }
    return methods;
  };
  return async function allowedMethods(c, next) {
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    const methods = methodsOf(c.req.path);
    if (method !== 'OPTIONS' && methods.size > 0 && !methods.has(method)) {
      const allow = [...new Set([...methods].flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])))];
      throw new ApiError('method_not_allowed', `${c.req.path} does not answer ${c.req.method}.`, {
        headers: { Allow: allow.sort().join(', ') },
      });
    }
    await next();
  };
};
