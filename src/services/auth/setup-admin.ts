import { sql } from 'drizzle-orm';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { ConflictError } from '../../core/errors.ts';
import { createUser } from '../users/create-user.ts';
import type { User } from '../users/schemas.ts';
import { hasAnyUser } from './get-auth-status.ts';
import { SetupInput } from './schemas.ts';

const SETUP_LOCK = 7313;

/**
 * Creates the first admin, only while no account exists (409 `already_set_up` afterwards). Also used for
 * the headless `ADMIN_EMAIL`/`ADMIN_PASSWORD` bootstrap.
 * @example const admin = await setupAdmin({ ctx, input: { email, password } });
 */
export async function setupAdmin({ ctx, input }: { ctx: ServiceContext; input: SetupInput }): Promise<User> {
  const data = SetupInput.parse(input);
  return withTransaction(ctx, async (tx) => {
    await tx.db.execute(sql`SELECT pg_advisory_xact_lock(${SETUP_LOCK})`);
    if (await hasAnyUser(tx)) {
      throw new ConflictError('Easel is already set up.', 'already_set_up');
    }
    return createUser({ ctx: tx, input: { ...data, is_admin: true } });
  });
}
