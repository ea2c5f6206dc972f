import { createRoute, z } from '@hono/zod-openapi';
import { requireAdmin } from '../http/middleware/auth.ts';
import { bearer, createRouter, jsonResponse, problems } from '../http/openapi.ts';
import { serviceContext } from '../http/service-context.ts';
import { ListAuditInput, listAudit } from '../services/audit/index.ts';

const AuditEntry = z
  .object({
    id: z.string(),
    at: z.string(),
    actor_user_id: z.string().nullable(),
    action: z.string(),
    target_type: z.string().nullable(),
    target_id: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    request_id: z.string().nullable(),
  })
  .openapi('AuditEntry');

const AuditPage = z
  .object({ items: z.array(AuditEntry), next_cursor: z.string().nullable() })
  .openapi('AuditPage');

const listRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'list_audit_events',
  tags: ['audit'],
  security: bearer,
  summary: 'The audit log, newest first (admin); `user_id` filters by actor',
  request: { query: ListAuditInput },
  responses: {
    200: jsonResponse(AuditPage, 'A page of entries'),
    ...problems('bad_request', 'validation_failed', 'unauthorized', 'forbidden'),
  },
});

export const auditRouter = createRouter();
auditRouter.use('*', requireAdmin());
auditRouter.openapi(listRoute, async (c) =>
  c.json(await listAudit({ ctx: serviceContext(c), input: c.req.valid('query') }), 200),
);
