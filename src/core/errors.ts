/** A problem found in the input, with the path of the offending field. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** Transport-agnostic failures thrown by services; the HTTP edge maps them once (`toApiError`). */
export class ServiceError extends Error {
  override name = 'ServiceError';
}

export class NotFoundError extends ServiceError {
  override name = 'NotFoundError';
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
    readonly reason: 'conflict' | 'already_set_up' = 'conflict',
  ) {
    super(message);
  }
}

export class ForbiddenError extends ServiceError {
  override name = 'ForbiddenError';
}

export class BadRequestError extends ServiceError {
  override name = 'BadRequestError';
}

export class ValidationError extends ServiceError {
  override name = 'ValidationError';
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  }
}

export class LimitExceededError extends ServiceError {
  override name = 'LimitExceededError';
}

/** An uploaded file is larger than allowed. */
export class TooLargeError extends ServiceError {
  override name = 'TooLargeError';
}

/** An uploaded file is of a type that is not accepted. */
export class UnsupportedTypeError extends ServiceError {
  override name = 'UnsupportedTypeError';
}

/** Authentication failed: a bad or revoked token (`unauthorized`), an expired one, or a failed login. */
export class AuthError extends ServiceError {
  override name = 'AuthError';
  constructor(
    readonly reason: 'unauthorized' | 'token_expired' | 'invalid_credentials',
    message: string,
    options?: { cause?: unknown; missingToken?: boolean },
  ) {
    super(message, options);
    this.missingToken = options?.missingToken ?? false;
  }

  /** The request carried no token at all (not a bad one). */
  readonly missingToken: boolean;
}

export class RateLimitedError extends ServiceError {
  override name = 'RateLimitedError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
