import { z } from '@hono/zod-openapi';
import { changesSomething, NOTHING_TO_CHANGE } from '../../core/errors.ts';

export const Email = z
  .email()
  .max(254)
  .transform((s) => s.toLowerCase());
export const Password = z.string().min(8).max(256);
export const DisplayName = z.string().trim().min(1).max(100);
export const MaxPending = z.number().int().min(0).max(1_000_000);

export const CreateUserInput = z
  .strictObject({
    email: Email,
    password: Password,
    display_name: DisplayName.optional(),
    is_admin: z.boolean().optional(),
  })
  .openapi('CreateUserInput');
export type CreateUserInput = z.input<typeof CreateUserInput>;

export const UpdateUserInput = z
  .strictObject({
    display_name: DisplayName.optional(),
    is_admin: z.boolean().optional(),
    is_active: z.boolean().optional(),
    password: Password.optional(),
    max_pending: MaxPending.nullable().optional(),
  })
  .refine(changesSomething, { message: NOTHING_TO_CHANGE })
  .openapi('UpdateUserInput');
export type UpdateUserInput = z.input<typeof UpdateUserInput>;

export const User = z
  .object({
    user_id: z.string(),
    email: z.string(),
    display_name: z.string(),
    is_admin: z.boolean(),
    is_active: z.boolean(),
    max_pending: z.number().int(),
    created_at: z.string(),
    last_login_at: z.string().nullable(),
  })
  .openapi('User');
export type User = z.infer<typeof User>;
