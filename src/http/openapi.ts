import type { Hook } from '@hono/zod-openapi';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { ZodType } from 'zod';
import { ERROR_CATALOG, type ErrorCode } from '../core/errors.ts';
import { ApiError } from './errors.ts';
import type { AppEnv } from './types.ts';

/** Zod issues become `errors: [{ path, message }]`; body paths are bare, others prefixed by their target. */
// biome-ignore lint/suspicious/noExplicitAny: the hook is shared by routes of every shape
export const validationHook: Hook<any, AppEnv, any, any> = (result, _c) => {
  if (!result.success) {
    const prefix = result.target === 'json' || result.target === 'form' ? [] : [result.target];
    const errors = result.error.issues.map((issue) => ({
      path: [...prefix, ...issue.path.map(String)].join('.'),
      message: issue.message,
    }));
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
    code: z.string(),
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
