import { type ServiceContext, withTransaction } from '../../core/context.ts';
import { ConflictError } from '../../core/errors.ts';
import { users } from '../../db/schema/index.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { CreateUserInput } from './schemas.ts';
import { defaultDisplayName, isUniqueViolation, toUserDto } from './user-dto.ts';

/**
 * Creates an account (admin action, also used by first set-up). Emails are unique case-insensitively.
 * @example const user = await createUser({ ctx, input: { email: 'a@b.c', password: 'longenough' } });
 */
export async function createUser({ ctx, input }: { ctx: ServiceContext; input: CreateUserInput }) {
  const data = CreateUserInput.parse(input);
  const passwordHash = await ctx.passwords.hash(data.password);
  try {
    return await withTransaction(ctx, async (tx) => {
      const now = tx.clock.now();
      const userId = crypto.randomUUID();
      const [row] = await tx.db
        .insert(users)
        .values({
          userId,
          email: data.email,
          displayName: data.display_name ?? defaultDisplayName(data.email),
          passwordHash,
          isAdmin: data.is_admin ?? false,
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing()
        .returning();
      if (!row) {
        throw new ConflictError(`A user with email ${data.email} already exists.`);
      }
      await recordAudit({
        ctx: tx,
        input: {
          action: 'user.created',
          targetType: 'user',
          targetId: userId,
          details: { email: row.email, is_admin: row.isAdmin },
          actorUserId: tx.actor?.userId ?? userId,
        },
      });
      return toUserDto(row, ctx.userMaxPending);
    });
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new ConflictError(`A user with email ${data.email} already exists.`);
    }
    throw err;
  }
}
