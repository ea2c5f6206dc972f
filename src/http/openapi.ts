import type { Hook } from '@hono/zod-openapi';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { ZodType } from 'zod';
import { ERROR_CATALOG, type ErrorCode } from '../core/errors.ts';
import { ApiError } from './errors.ts';
import type { AppEnv } from './types.ts';

const UNSTORABLE = 'must not contain U+0000 or an unpaired surrogate';

/** Whether PostgreSQL can store the text: no U+0000, no lone surrogate (it needs well-formed UTF-8). */
const storable = (text: string) =>
  !text.includes('\u0000') && (text as string & { isWellFormed(): boolean }).isWellFormed();

/** The paths of every string (object keys included) in `value` that PostgreSQL cannot store. */
function unstorablePaths(value: unknown, path: string[], found: string[][]): string[][] {
  if (typeof value === 'string') {
    if (!storable(value)) {
      found.push(path);
    }
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      unstorablePaths(item, [...path, String(i)], found);
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      unstorablePaths(storable(key) ? item : key, [...path, key], found);
    }
  }
  return found;
}

/**
 * The one validation layer of every route (API.md section 1). Zod issues become `errors: [{ path, message }]`;
 * body paths are bare, others prefixed by their target. Input that passed its schema is also refused (422)
 * when a string in it cannot be stored, so no route reaches the database with one.
 */
// biome-ignore lint/suspicious/noExplicitAny: the hook is shared by routes of every shape
export const validationHook: Hook<any, AppEnv, any, any> = (result, _c) => {
  const prefix = result.target === 'json' || result.target === 'form' ? [] : [result.target];
  if (!result.success) {
    const errors = result.error.issues.map((issue) => ({
      path: [...prefix, ...issue.path.map(String)].join('.'),
      message: issue.message,
    }));
    throw new ApiError('validation_failed', 'The request does not match the schema.', { errors });
  }
  const unstorable = unstorablePaths(result.data, prefix, []);
  if (unstorable.length > 0) {
    const errors = unstorable.map((path) => ({ path: path.join('.'), message: UNSTORABLE }));
    throw new ApiError('validation_failed', 'The request does not match the schema.', { errors });
  }
};

/**
 * Every router is an `OpenAPIHono<AppEnv>` with the shared validation hook.
 * @example export const usersRouter = createRouter(); usersRouter.openapi(listUsersRoute, handler);
 */
export const createRouter = () => new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

/** A required JSON request body. */
export const jsonBody = <T extends ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

/** A JSON response. */
export const jsonResponse = <T extends ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(ERROR_CATALOG) as [ErrorCode, ...ErrorCode[]]),
    request_id: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

/** Problem responses for the given codes, grouped by status. */
export function problems(...codes: ErrorCode[]) {
  const byStatus: Record<
    number,
    { description: string; content: Record<string, { schema: typeof Problem }> }
  > = {};
  for (const code of codes) {
    const { status } = ERROR_CATALOG[code];
    const entry = byStatus[status];
    byStatus[status] = {
      description: entry ? `${entry.description}, ${code}` : code,
      content: { 'application/problem+json': { schema: Problem } },
    };
  }
  return byStatus;
}

export const bearer = [{ bearer: [] }];
