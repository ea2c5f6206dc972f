/** The closed set of error codes (API.md section 1), with the status and title of each. */
export const ERROR_CATALOG = {
  bad_request: { status: 400, title: 'Bad request' },
  validation_failed: { status: 422, title: 'Validation failed' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  token_expired: { status: 401, title: 'Token expired' },
  invalid_credentials: { status: 401, title: 'Invalid credentials' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  already_set_up: { status: 409, title: 'Already set up' },
  quota_exceeded: { status: 429, title: 'Quota exceeded' },
  rate_limited: { status: 429, title: 'Too many requests' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  unavailable: { status: 503, title: 'Service unavailable' },
  internal: { status: 500, title: 'Internal server error' },
} as const satisfies Record<string, { status: number; title: string }>;
export type ErrorCode = keyof typeof ERROR_CATALOG;

/** A problem found in the input, with the path of the offending field. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** Transport-agnostic failures thrown by services; the HTTP edge maps them once (`toApiError`). */
export abstract class ServiceError extends Error {
  override name = 'ServiceError';
  /** The problem code the HTTP edge answers with (its status comes from `ERROR_CATALOG`). */
  abstract readonly code: ErrorCode;
  /** Headers the answer carries (`Retry-After`, `WWW-Authenticate`). */
  headers(): Record<string, string> {
    return {};
  }
}

export class NotFoundError extends ServiceError {
  override name = 'NotFoundError';
  readonly code = 'not_found';
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${id} was not found`);
  }
}

export class ConflictError extends ServiceError {
  override name = 'ConflictError';
  constructor(
    message: string,
    readonly code: 'conflict' | 'already_set_up' = 'conflict',
  ) {
    super(message);
  }
}

export class ForbiddenError extends ServiceError {
  override name = 'ForbiddenError';
  readonly code = 'forbidden';
}

export class BadRequestError extends ServiceError {
  override name = 'BadRequestError';
  readonly code = 'bad_request';
}

export class ValidationError extends ServiceError {
  override name = 'ValidationError';
  readonly code = 'validation_failed';
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  }
}

export class LimitExceededError extends ServiceError {
  override name = 'LimitExceededError';
  readonly code = 'quota_exceeded';
}

/** An uploaded file is larger than allowed. */
export class TooLargeError extends ServiceError {
  override name = 'TooLargeError';
  readonly code = 'payload_too_large';
}

/** An uploaded file is of a type that is not accepted. */
export class UnsupportedTypeError extends ServiceError {
  override name = 'UnsupportedTypeError';
  readonly code = 'unsupported_media_type';
}

/** Authentication failed: a bad or revoked token (`unauthorized`), an expired one, or a failed login. */
export class AuthError extends ServiceError {
  override name = 'AuthError';
  constructor(
    readonly code: 'unauthorized' | 'token_expired' | 'invalid_credentials',
    message: string,
    options?: { cause?: unknown; missingToken?: boolean },
  ) {
    super(message, options);
    this.missingToken = options?.missingToken ?? false;
  }

  /** The request carried no token at all (not a bad one). */
  readonly missingToken: boolean;

  override headers(): Record<string, string> {
    if (this.code === 'invalid_credentials') {
      return {};
    }
    // RFC 6750 section 3.1: no error code when the request carried no token at all.
    return { 'WWW-Authenticate': this.missingToken ? 'Bearer' : 'Bearer error="invalid_token"' };
  }
}

/** A refusal that says when to try again (`Retry-After`, in seconds). */
export abstract class RetryLaterError extends ServiceError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }

  override headers(): Record<string, string> {
    return { 'Retry-After': String(this.retryAfterSeconds) };
  }
}

export class RateLimitedError extends RetryLaterError {
  override name = 'RateLimitedError';
  readonly code = 'rate_limited';
}

/** Too much of one costly kind of work at once (password hashing): 503 `unavailable` with `Retry-After`. */
export class BusyError extends RetryLaterError {
  override name = 'BusyError';
  readonly code = 'unavailable';
}

/** This runtime has no image codec (the Deno entry); see `unavailableCodec`. */
export class ImageCodecUnavailableError extends ServiceError {
  override name = 'ImageCodecUnavailableError';
  readonly code = 'unavailable';
}

/** An update (`PATCH`) must change something: `{}` is 422 (API.md section 1). */
export const NOTHING_TO_CHANGE = 'the request changes nothing: give at least one field';

/** Whether an update body names at least one field. */
export const changesSomething = (input: object) => Object.keys(input).length > 0;
