import { ForbiddenError } from './errors.ts';

/** Who is making the request. `via` tells how: a bearer token, single-user mode, or no credentials. */
export interface AuthUser {
  userId: string;
  email: string;
  isAdmin: boolean;
  via: 'token' | 'single' | 'anonymous';
  /** Set when `via` is `token`; `sid` is its login session (`sessionOf`). */
  token: { sid: string; exp: number; epoch: number; rememberMe: boolean } | null;
}

/**
 * The acting user, which every verb on user data needs (403 without one).
 * @example const actor = requireActor(ctx.actor);
 */
export function requireActor(actor: AuthUser | null): AuthUser {
  if (!actor) {
    throw new ForbiddenError('This action needs a signed-in user.');
  }
  return actor;
}

/**
 * The acting user when it is an admin (403 otherwise).
 * @example requireAdmin(ctx.actor);
 */
export function requireAdmin(actor: AuthUser | null): AuthUser {
  const user = requireActor(actor);
  if (!user.isAdmin) {
    throw new ForbiddenError('This action needs an admin.');
  }
  return user;
}
