import { lt } from 'drizzle-orm';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { revokedTokens } from '../../db/schema/index.ts';
import { recordAudit } from '../audit/record-audit.ts';

/**
 * Revokes the token that made the request (its event streams close); revoked ids are kept until they would
 * have expired.
 */
export async function logout({ ctx }: { ctx: ServiceContext }) {
  const actor = ctx.actor;
  if (!actor?.token) {
    return;
  }
  const token = actor.token;
  await withTransaction(ctx, async (tx) => {
    await tx.db.delete(revokedTokens).where(lt(revokedTokens.expiresAt, tx.clock.now()));
    await tx.db
      .insert(revokedTokens)
      .values({ jti: token.jti, userId: actor.userId, expiresAt: new Date(token.exp * 1000) })
      .onConflictDoNothing();
    await recordAudit({
      ctx: tx,
      input: { action: 'auth.logout', targetType: 'user', targetId: actor.userId },
    });
  });
  ctx.channels.closeToken(token.jti);
}
