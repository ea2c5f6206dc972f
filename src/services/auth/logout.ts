import { lt } from 'drizzle-orm';
import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { revokedSessions } from '../../db/schema/index.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { MAX_IAT_SKEW_S, REMEMBER_ME_LIFETIME_S, TOKEN_LIFETIME_S } from './tokens.ts';

/**
 * Revokes the login session of the token that made the request: every token with its `sid` (the one
 * presented, those it was refreshed from, those refreshed from it, even while this runs), and closes the
 * session's event streams on every process. The row is kept until the session's last token would have
 * expired: a token refreshed before now (on any process, whose clock may run ahead by MAX_IAT_SKEW_S)
 * expires within one lifetime of its class from now.
 */
export async function logout({ ctx }: { ctx: ServiceContext }) {
  const actor = ctx.actor;
  if (!actor?.token) {
    return;
  }
  const token = actor.token;
  const now = ctx.clock.now();
  const lifetime = (token.rememberMe ? REMEMBER_ME_LIFETIME_S : TOKEN_LIFETIME_S) + MAX_IAT_SKEW_S;
  const expiresAt = new Date(Math.max(token.exp * 1000, now.getTime() + lifetime * 1000));
  await withTransaction(ctx, async (tx) => {
    await tx.db.delete(revokedSessions).where(lt(revokedSessions.expiresAt, now));
    await tx.db
      .insert(revokedSessions)
      .values({ sid: token.sid, userId: actor.userId, expiresAt })
      .onConflictDoNothing();
    await recordAudit({
      ctx: tx,
      input: { action: 'auth.logout', targetType: 'user', targetId: actor.userId },
    });
  });
  ctx.channels.closeSession(token.sid);
}
