import { eq } from 'drizzle-orm';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { users } from '../../db/schema/index.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { cancelUserItems } from '../queue/cancel-matching.ts';
import { assertAnotherActiveAdmin, lockUserForChange } from './admin-guard.ts';
import { UpdateUserInput } from './schemas.ts';
import { toUserDto } from './user-dto.ts';

/**
 * Changes an account (admin action). Demotion, deactivation and a password reset revoke every token of the
 * user (epoch + 1); deactivation also cancels their pending and running items. The last active admin cannot
 * be demoted or deactivated.
 * @example await updateUser({ ctx, input: { userId, patch: { is_active: false } } });
 */
export async function updateUser({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { userId: string; patch: UpdateUserInput };
}) {
  const patch = UpdateUserInput.parse(input.patch);
  const passwordHash = patch.password === undefined ? undefined : await ctx.passwords.hash(patch.password);
  const result = await withTransaction(ctx, async (tx) => {
    const row = await lockUserForChange(tx.db, input.userId);
    const demoted = row.isAdmin && patch.is_admin === false;
    const deactivated = row.isActive && patch.is_active === false;
    if (row.isAdmin && row.isActive && (demoted || deactivated)) {
      await assertAnotherActiveAdmin(tx.db, row.userId, demoted ? 'demoted' : 'deactivated');
    }
    const revoke = demoted || deactivated || passwordHash !== undefined;
    const [updated] = await tx.db
      .update(users)
      .set({
        displayName: patch.display_name,
        isAdmin: patch.is_admin,
        isActive: patch.is_active,
        maxPending: patch.max_pending,
        passwordHash,
        epoch: revoke ? row.epoch + 1 : undefined,
        updatedAt: tx.clock.now(),
      })
      .where(eq(users.userId, row.userId))
      .returning();
    const { password: _omitted, ...visible } = patch;
    await recordAudit({
      ctx: tx,
      input: {
        action: 'user.updated',
        targetType: 'user',
        targetId: row.userId,
        details: { ...visible, ...(passwordHash ? { password_reset: true } : {}), tokens_revoked: revoke },
      },
    });
    return {
      user: toUserDto(updated ?? row, ctx.userMaxPending),
      deactivated,
      revoke,
      epoch: updated?.epoch,
    };
  });
  if (result.revoke) {
    ctx.channels.closeUser(input.userId, result.epoch);
  }
  if (result.deactivated) {
    await cancelUserItems(ctx, input.userId);
  }
  return result.user;
}
