import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ERROR_CATALOG, type ErrorCode } from '../core/errors.ts';
import { loggableError } from '../core/logger.ts';
import { ApiError, toApiError } from './errors.ts';
import type { AppEnv } from './types.ts';

/** The `type` URI of a code: its entry on the docs page. */
export const problemType = (code: ErrorCode) => `/docs#error-${code}`;

/** The problem+json body of an error (RFC 9457). */
export function problemBody(err: ApiError, requestId: string) {
  return {
    type: problemType(err.code),
    title: ERROR_CATALOG[err.code].title,
    status: ERROR_CATALOG[err.code].status as ContentfulStatusCode,
    detail: err.detail,
    code: err.code,
    request_id: requestId,
    ...(err.errors ? { errors: err.errors } : {}),
  };
}

/** When a client may try again after a 503 `unavailable` that names no other time. */
export const RETRY_UNAVAILABLE_S = 5;

/** Answers an `ApiError` as `application/problem+json` with its headers. */
export function problemResponse(c: Context<AppEnv>, err: ApiError): Response {
  for (const [name, value] of Object.entries(err.headers)) {
    c.header(name, value);
  }
  c.header('Content-Type', 'application/problem+json');
  if (err.code === 'unavailable' && !('Retry-After' in err.headers)) {
    c.header('Retry-After', String(RETRY_UNAVAILABLE_S));
  }
  if (err.code === 'payload_too_large') {
    // The body was not read to its end: the connection cannot carry another request (API.md section 1).
    c.header('Connection', 'close');
  }
  return c.body(
    JSON.stringify(problemBody(err, c.var.requestId)),
    ERROR_CATALOG[err.code].status as ContentfulStatusCode,
  );
}

/**
 * The app's one error handler: own and service errors become their problem; anything else is logged with
 * the request id and stack and answered with a generic 500.
 */
export const handleError: ErrorHandler<AppEnv> = (err, c) => {
  const known = toApiError(err);
  if (known) {
    return problemResponse(c, known);
  }
  c.var.deps.logger.error('unhandled error', { request_id: c.var.requestId, ...loggableError(err) });
  return problemResponse(c, new ApiError('internal', 'An unexpected error occurred.'));
};

/** Unknown routes are 404 problems. */
export const handleNotFound: NotFoundHandler<AppEnv> = (c) =>
  problemResponse(c, new ApiError('not_found', `No route for ${c.req.method} ${c.req.path}.`));
