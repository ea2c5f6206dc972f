import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '../http/errors.ts';
import { renderWorkerStats } from '../http/metrics.ts';
import { createRouter, jsonResponse, problems } from '../http/openapi.ts';

const tags = ['operations'];

const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  operationId: 'get_health',
  tags,
  summary: 'Liveness',
  responses: {
    200: jsonResponse(z.object({ status: z.literal('ok'), version: z.string() }), 'The process is up'),
  },
});

const Readiness = z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.boolean()) });
const readyRoute = createRoute({
  method: 'get',
  path: '/ready',
  operationId: 'get_readiness',
  tags,
  summary: 'Readiness: 200 once migrations ran (and, with the runtime, a model loaded), else 503',
  responses: { 200: jsonResponse(Readiness, 'Ready'), ...problems('unavailable') },
});

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'get_metrics',
  tags,
  security: [{ bearer: [] }],
  summary: 'Prometheus metrics (admin token); authenticated by the app before this handler',
  responses: {
    200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } },
    ...problems('unauthorized', 'forbidden'),
  },
});

/** `/health` and `/ready`: all a `ROLE=worker` process serves (`probesRouter`). */
const probes = () =>
  createRouter()
    .openapi(healthRoute, (c) => c.json({ status: 'ok' as const, version: c.var.deps.config.version }, 200))
    .openapi(readyRoute, async (c) => {
      const { ready, checks } = await c.var.deps.readiness();
      if (!ready) {
        const failing = Object.keys(checks).filter((k) => !checks[k]);
        throw new ApiError('unavailable', `Not ready: ${failing.join(', ')}.`);
      }
      return c.json({ status: 'ready' as const, checks }, 200);
    });

export const probesRouter = probes();

export const healthRouter = probes().openapi(metricsRoute, async (c) =>
  c.text(c.var.deps.metrics.render() + renderWorkerStats(await c.var.deps.workers.stats()), 200, {
    'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
  }),
);
