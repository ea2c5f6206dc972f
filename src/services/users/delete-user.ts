import { eq } from 'drizzle-orm';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { users } from '../../db/schema/index.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { cancelUserItems } from '../queue/cancel-matching.ts';
import { assertAnotherActiveAdmin, lockUserForChange } from './admin-guard.ts';

/**
 * Deletes an account (admin action). Its tokens stop working because the account is gone; work and images
 * it owns stay and keep its `user_id`; its pending and running items are canceled. The last active admin
 * cannot be deleted.
 */
export async function deleteUser({ ctx, input }: { ctx: ServiceContext; input: { userId: string } }) {
  await withTransaction(ctx, async (tx) => {
    const row = await lockUserForChange(tx.db, input.userId);
    if (row.isAdmin && row.isActive) {
      await assertAnotherActiveAdmin(tx.db, row.userId, 'deleted');
    }
    await tx.db.delete(users).where(eq(users.userId, row.userId));
    await recordAudit({
      ctx: tx,
      input: {
        action: 'user.deleted',
        targetType: 'user',
        targetId: row.userId,
        details: { email: row.email },
      },
    });
  });
  ctx.channels.closeUser(input.userId);
  await cancelUserItems(ctx, input.userId);
}
