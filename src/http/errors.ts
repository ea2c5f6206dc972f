import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import {
  AuthError,
  BadRequestError,
  ConflictError,
  type FieldProblem,
  ForbiddenError,
  LimitExceededError,
  NotFoundError,
  RateLimitedError,
  TooLargeError,
  UnsupportedTypeError,
  ValidationError,
} from '../core/errors.ts';
import { ImageCodecUnavailableError } from '../core/images.ts';

/** The closed set of error codes (API.md section 1). */
export const ErrorCode = z.enum([
  'bad_request',
  'validation_failed',
  'unauthorized',
  'token_expired',
  'invalid_credentials',
  'forbidden',
  'not_found',
  'conflict',
  'already_set_up',
  'quota_exceeded',
  'rate_limited',
  'payload_too_large',
  'unsupported_media_type',
  'not_ready',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** Status and title of each code. */
export const errorCatalog: Record<ErrorCode, { status: ContentfulStatusCode; title: string }> = {
  bad_request: { status: 400, title: 'Bad request' },
  validation_failed: { status: 422, title: 'Validation failed' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  token_expired: { status: 401, title: 'Token expired' },
  invalid_credentials: { status: 401, title: 'Invalid credentials' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
  already_set_up: { status: 409, title: 'Already set up' },
  quota_exceeded: { status: 429, title: 'Quota exceeded' },
  rate_limited: { status: 429, title: 'Too many requests' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  not_ready: { status: 503, title: 'Not ready' },
  internal: { status: 500, title: 'Internal server error' },
};

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
    super(errorCatalog[code].status, { message: detail, cause: opts.cause });
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

/** Maps service errors and foreign HTTP exceptions to an `ApiError`; anything else gives `undefined`. */
export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) {
    return err;
  }
  if (err instanceof NotFoundError) {
    return new ApiError('not_found', err.message, { cause: err });
  }
  if (err instanceof ConflictError) {
    return new ApiError(err.reason, err.message, { cause: err });
  }
  if (err instanceof ForbiddenError) {
    return new ApiError('forbidden', err.message, { cause: err });
  }
  if (err instanceof BadRequestError) {
    return new ApiError('bad_request', err.message, { cause: err });
  }
  if (err instanceof ValidationError) {
    return new ApiError('validation_failed', 'The request does not match the schema.', {
      errors: err.problems,
      cause: err,
    });
  }
  if (err instanceof LimitExceededError) {
    return new ApiError('quota_exceeded', err.message, { cause: err });
  }
  if (err instanceof TooLargeError) {
    return new ApiError('payload_too_large', err.message, { cause: err });
  }
  if (err instanceof UnsupportedTypeError) {
    return new ApiError('unsupported_media_type', err.message, { cause: err });
  }
  if (err instanceof ImageCodecUnavailableError) {
    return new ApiError('not_ready', err.message, { cause: err });
  }
  if (err instanceof RateLimitedError) {
    return new ApiError('rate_limited', err.message, {
      headers: { 'Retry-After': String(err.retryAfterSeconds) },
      cause: err,
    });
  }
  if (err instanceof AuthError) {
    // RFC 6750 section 3.1: no error code when the request carried no token at all.
    const challenge = err.missingToken ? 'Bearer' : 'Bearer error="invalid_token"';
    const headers: Record<string, string> =
      err.reason === 'invalid_credentials' ? {} : { 'WWW-Authenticate': challenge };
    return new ApiError(err.reason, err.message, { headers, cause: err });
  }
  if (err instanceof HTTPException) {
    const code = statusToCode[err.status];
    if (code) {
      return new ApiError(code, err.message || errorCatalog[code].title, { cause: err });
    }
  }
  return undefined;
}
