import { z } from 'zod';

/** Every audited action (API.md section 7). */
export const AuditAction = z.enum([
  'auth.login',
  'auth.login_failed',
  'auth.logout',
  'auth.password_changed',
  'user.created',
  'user.updated',
  'user.deleted',
  'queue.enqueued',
  'queue.canceled',
  'queue.retried',
  'queue.deleted',
  'queue.pruned',
  'queue.cleared',
  'queue.owner_changed',
  'image.deleted',
  'board.deleted',
]);
export type AuditAction = z.infer<typeof AuditAction>;
