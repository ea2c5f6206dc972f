import type { ServiceContext } from '../../core/context.ts';
import { ConflictError } from '../../core/errors.ts';
import type { User } from '../users/schemas.ts';
import { setupAdmin } from './setup-admin.ts';

/**
 * The headless set-up: creates this admin when no account exists yet, and does nothing otherwise.
 * @example await bootstrapAdmin({ ctx, input: { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD } });
 */
export async function bootstrapAdmin({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { email: string; password: string };
}): Promise<User | undefined> {
  try {
    return await setupAdmin({ ctx, input });
  } catch (err) {
    if (err instanceof ConflictError && err.code === 'already_set_up') {
      return undefined;
    }
    throw err;
  }
}
