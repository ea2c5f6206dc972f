import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { ServiceContext } from '../../core/context.ts';
import { BadRequestError } from '../../core/errors.ts';
import { auditLog } from '../../db/schema/index.ts';
import { AuditAction } from './actions.ts';

export const ListAuditInput = z.object({
  user_id: z.string().min(1).max(200).optional(),
  action: AuditAction.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(40).optional(),
});
export type ListAuditInput = z.input<typeof ListAuditInput>;

/** Audit entries newest first; `cursor` is the `next_cursor` of the previous page. */
export async function listAudit({ ctx, input }: { ctx: ServiceContext; input: ListAuditInput }) {
  const q = ListAuditInput.parse(input);
  const where: SQL[] = [];
  if (q.cursor !== undefined) {
    if (!/^[1-9]\d{0,17}$/.test(q.cursor)) {
      throw new BadRequestError('The cursor was not issued by this server.');
    }
    where.push(lt(auditLog.id, Number(q.cursor)));
  }
  if (q.user_id) {
    where.push(eq(auditLog.actorUserId, q.user_id));
  }
  if (q.action) {
    where.push(eq(auditLog.action, q.action));
  }
  const rows = await ctx.db
    .select()
    .from(auditLog)
    .where(and(...where))
    .orderBy(desc(auditLog.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => ({
      id: String(r.id),
      at: r.at.toISOString(),
      actor_user_id: r.actorUserId,
      action: r.action,
      target_type: r.targetType,
      target_id: r.targetId,
      details: r.details,
      request_id: r.requestId,
    })),
    next_cursor: rows.length > q.limit && last ? String(last.id) : null,
  };
}
