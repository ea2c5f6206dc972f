import { eq } from 'drizzle-orm';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { BadRequestError, ConflictError, NotFoundError } from '../../core/errors.ts';
import { users } from '../../db/schema/index.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { findUserById, SYSTEM_USER_ID, toUserDto } from '../users/user-dto.ts';
import { UpdateMeInput } from './schemas.ts';

/**
 * Changes the caller's own display name and/or password. A password change needs the current password
 * (missing or wrong: 400, never 401), revokes every earlier token (epoch + 1) and returns a replacement in
 * the same login session.
 */
export async function updateMe({ ctx, input }: { ctx: ServiceContext; input: UpdateMeInput }) {
  const data = UpdateMeInput.parse(input);
  const actor = ctx.actor;
  if (!actor || actor.userId === SYSTEM_USER_ID) {
    throw new ConflictError('The system user cannot be changed.');
  }
  const current = await findUserById(ctx.db, actor.userId);
  if (!current) {
    throw new NotFoundError('User', actor.userId);
  }
  let passwordHash: string | undefined;
  if (data.new_password !== undefined) {
    if (data.current_password === undefined) {
      throw new BadRequestError('current_password is required to change the password.');
    }
    if (!(await ctx.passwords.verify(data.current_password, current.passwordHash))) {
      throw new BadRequestError('current_password is incorrect.');
    }
    passwordHash = await ctx.passwords.hash(data.new_password);
  }
  const result = await withTransaction(ctx, async (tx) => {
    const [row] = await tx.db
      .update(users)
      .set({
        displayName: data.display_name,
        passwordHash,
        epoch: passwordHash ? current.epoch + 1 : undefined,
        updatedAt: tx.clock.now(),
      })
      .where(eq(users.userId, current.userId))
      .returning();
    const updated = row ?? current;
    let replacement: string | undefined;
    if (passwordHash) {
      await recordAudit({
        ctx: tx,
        input: { action: 'auth.password_changed', targetType: 'user', targetId: current.userId },
      });
      const issued = await tx.tokens.issue(
        { userId: updated.userId, email: updated.email, isAdmin: updated.isAdmin, epoch: updated.epoch },
        actor.token?.rememberMe ?? false,
        actor.token?.sid,
      );
      replacement = issued.token;
    }
    if (data.display_name !== undefined) {
      await recordAudit({
        ctx: tx,
        input: {
          action: 'user.updated',
          targetType: 'user',
          targetId: current.userId,
          details: { display_name: data.display_name },
        },
      });
    }
    return {
      user: toUserDto(updated, ctx.userMaxPending),
      replacementToken: replacement,
      epoch: updated.epoch,
    };
  });
  if (passwordHash) {
    ctx.channels.closeUser(current.userId, result.epoch);
  }
  return { user: result.user, replacementToken: result.replacementToken };
}
