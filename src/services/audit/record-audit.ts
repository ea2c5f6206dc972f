import type { ServiceContext } from '../../core/context.ts';
import { auditLog } from '../../db/schema/index.ts';
import type { AuditAction } from './actions.ts';

export interface AuditEntryInput {
  action: AuditAction;
  targetType?: string;
  targetId?: string;
  details?: Record<string, unknown>;
  /** Defaults to the acting user. */
  actorUserId?: string | null;
}

/**
 * Writes one audit entry with the request id, in the caller's transaction when there is one.
 * @example await recordAudit({ ctx, input: { action: 'user.deleted', targetType: 'user', targetId: id } });
 */
export async function recordAudit({ ctx, input }: { ctx: ServiceContext; input: AuditEntryInput }) {
  await ctx.db.insert(auditLog).values({
    at: ctx.clock.now(),
    actorUserId: input.actorUserId === undefined ? (ctx.actor?.userId ?? null) : input.actorUserId,
    action: input.action,
    targetType: input.targetType ?? null,
    targetId: input.targetId ?? null,
    details: input.details ?? {},
    requestId: ctx.requestId,
  });
}
