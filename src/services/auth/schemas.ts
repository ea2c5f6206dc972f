import { z } from '@hono/zod-openapi';
import { changesSomething, NOTHING_TO_CHANGE } from '../../core/errors.ts';
import { DisplayName, Email, Password, User } from '../users/schemas.ts';

export const SetupInput = z
  .strictObject({ email: Email, password: Password, display_name: DisplayName.optional() })
  .openapi('SetupInput');
export type SetupInput = z.input<typeof SetupInput>;

export const LoginInput = z
  .strictObject({
    email: z.string().trim().min(1).max(254),
    password: z.string().min(1).max(256),
    remember_me: z.boolean().optional(),
  })
  .openapi('LoginInput');
export type LoginInput = z.input<typeof LoginInput>;

export const UpdateMeInput = z
  .strictObject({
    display_name: DisplayName.optional(),
    current_password: z.string().min(1).max(256).optional(),
    new_password: Password.optional(),
  })
  .refine(changesSomething, { message: NOTHING_TO_CHANGE })
  .openapi('UpdateMeInput');
export type UpdateMeInput = z.input<typeof UpdateMeInput>;

export const TokenResponse = z
  .object({ token: z.string(), expires_in: z.number().int(), user: User })
  .openapi('TokenResponse');
export type TokenResponse = z.infer<typeof TokenResponse>;

export const AuthStatus = z
  .object({ setup_required: z.boolean(), multiuser_enabled: z.boolean() })
  .openapi('AuthStatus');
