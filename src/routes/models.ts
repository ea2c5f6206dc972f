import { createRoute, z } from '@hono/zod-openapi';
import { bearer, createRouter, jsonResponse, problems } from '../http/openapi.ts';

const Model = z
  .object({
    key: z.string(),
    name: z.string(),
    base: z.string(),
    type: z.literal('main'),
    format: z.literal('onnx'),
    description: z.string(),
  })
  .openapi('Model');

const listRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'list_models',
  tags: ['models'],
  security: bearer,
  summary: 'The models found in MODELS_DIR (one folder with a model.json each)',
  responses: { 200: jsonResponse(z.array(Model), 'Models, by folder name'), ...problems('unauthorized') },
});

export const modelsRouter = createRouter().openapi(listRoute, (c) => c.json(c.var.deps.models.list(), 200));
