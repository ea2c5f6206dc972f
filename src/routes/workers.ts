import { createRoute, z } from '@hono/zod-openapi';
import { requireAdmin } from '../http/middleware/auth.ts';
import { bearer, createRouter, jsonResponse, problems } from '../http/openapi.ts';
import { serviceContext } from '../http/service-context.ts';
import { listWorkers } from '../services/workers/index.ts';

const WorkerInfo = z
  .object({
    worker_id: z.string(),
    node_id: z.string(),
    device: z.string(),
    state: z.enum(['idle', 'busy', 'gone']),
    item_id: z.number().int().nullable(),
    last_seen_at: z.string(),
  })
  .openapi('Worker');

const listRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'list_workers',
  tags: ['workers'],
  security: bearer,
  summary:
    'The workers of every process on this database (admin): `gone` when not seen for LEASE_SECONDS + 10 s',
  responses: {
    200: jsonResponse(z.array(WorkerInfo), 'Workers, by worker id'),
    ...problems('unauthorized', 'forbidden'),
  },
});

export const workersRouter = createRouter();
workersRouter.use('*', requireAdmin());
workersRouter.openapi(listRoute, async (c) => c.json(await listWorkers({ ctx: serviceContext(c) }), 200));
