import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isDatabaseUnavailable } from '../core/database-away.ts';
import {
  ERROR_CATALOG,
  type ErrorCode,
  type FieldProblem,
  ServiceError,
  ValidationError,
} from '../core/errors.ts';

/** An error answered as problem+json with a stable `code`. */
export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly errors: FieldProblem[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    detail: string,
    opts: { errors?: FieldProblem[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(ERROR_CATALOG[code].status as ContentfulStatusCode, { message: detail, cause: opts.cause });
    this.code = code;
    this.detail = detail;
    this.errors = opts.errors;
    this.headers = opts.headers ?? {};
  }
}

const statusToCode: Partial<Record<number, ErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_failed',
  429: 'rate_limited',
};

/**
 * Maps service errors, foreign HTTP exceptions and an unreachable database (503) to an `ApiError`; anything
 * else gives `undefined`.
 */
export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) {
    return err;
  }
  if (err instanceof ValidationError) {
    return new ApiError(err.code, 'The request does not match the schema.', {
      errors: err.problems,
      cause: err,
    });
  }
  if (err instanceof ServiceError) {
    return new ApiError(err.code, err.message, { headers: err.headers(), cause: err });
  }
  if (isDatabaseUnavailable(err)) {
    // PostgreSQL restarting or a dropped connection: the driver reconnects on the next statement.
    return new ApiError('unavailable', 'The database is unavailable; try again shortly.', { cause: err });
  }
  if (err instanceof HTTPException) {
    const code = statusToCode[err.status];
    if (code) {
      return new ApiError(code, err.message || ERROR_CATALOG[code].title, { cause: err });
    }
  }
  return undefined;
}
