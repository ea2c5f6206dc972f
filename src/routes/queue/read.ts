import { createRoute, z } from '@hono/zod-openapi';
import { bearer, createRouter, jsonBody, jsonResponse, problems } from '../../http/openapi.ts';
import { serviceContext } from '../../http/service-context.ts';
import { ListAllQuery, ListQuery, QueueItem } from '../../queue/schemas.ts';
import {
  getBatchStatus,
  getCountsByDestination,
  getCurrentItem,
  getItem,
  getItemsByIds,
  getNextItem,
  getQueueStatus,
  listAllItemsJson,
  listItems,
} from '../../services/queue/index.ts';
import {
  BatchParam,
  BatchStatus,
  DestinationCounts,
  DestinationQuery,
  ItemParam,
  ItemsByIdsInput,
  ItemsPage,
  QueueParam,
  QueueStatusResponse,
} from './schemas.ts';

const tags = ['queue'];
const base = { tags, security: bearer };
const readProblems = problems('validation_failed', 'unauthorized', 'not_found');

const listRoute = createRoute({
  ...base,
  method: 'get',
  path: '/{queue_id}/list',
  operationId: 'list_queue_items',
  summary: 'A page of the queue in list order; others’ items are redacted',
  request: { params: QueueParam, query: ListQuery },
  responses: {
    200: jsonResponse(ItemsPage, 'A page'),
    ...problems('bad_request', 'validation_failed', 'unauthorized', 'not_found'),
  },
});
const listAllRoute = createRoute({
  ...base,
  method: 'get',
  path: '/{queue_id}/list_all',
  operationId: 'list_all_queue_items',
  summary: 'Every matching item in list order; others’ items are redacted',
  request: { params: QueueParam, query: ListAllQuery },
  responses: { 200: jsonResponse(z.array(QueueItem), 'Items'), ...readProblems },
});
const itemRoute = createRoute({
  ...base,
  method: 'get',
  path: '/{queue_id}/i/{item_id}',
  operationId: 'get_queue_item',
  summary: 'One item (redacted unless yours, or you are an admin)',
  request: { params: ItemParam },
  responses: { 200: jsonResponse(QueueItem, 'The item'), ...readProblems },
});
const byIdsRoute = createRoute({
  ...base,
  method: 'post',
  path: '/{queue_id}/items_by_ids',
  operationId: 'get_queue_items_by_item_ids',
  summary: 'Items by id, in the order asked (unknown ids skipped; at most 1000)',
  request: { params: QueueParam, body: jsonBody(ItemsByIdsInput) },
  responses: { 200: jsonResponse(z.array(QueueItem), 'Items'), ...readProblems },
});
const currentRoute = createRoute({
  ...base,
  method: 'get',
  path: '/{queue_id}/current',
  operationId: 'get_current_queue_item',
  summary: 'The item in progress, or null',
  request: { params: QueueParam },
  responses: { 200: jsonResponse(z.union([QueueItem, z.null()]), 'The item or null'), ...readProblems },
});
const nextRoute = createRoute({
  ...base,
  method: 'get',
  path: '/{queue_id}/next',
  operationId: 'get_next_queue_item',
  summary: 'The item that runs next under the queue’s fairness, or null',
  request: { params: QueueParam },
  responses: { 200: jsonResponse(z.union([QueueItem, z.null()]), 'The item or null'), ...readProblems },
});
const statusRoute = createRoute({
  ...base,
  method: 'get',
  path: '/{queue_id}/status',
  operationId: 'get_queue_status',
  summary: 'Counts for the queue and for you, and the processor state',
  request: { params: QueueParam },
  responses: { 200: jsonResponse(QueueStatusResponse, 'Status'), ...readProblems },
});
const batchStatusRoute = createRoute({
  ...base,
  method: 'get',
  path: '/{queue_id}/b/{batch_id}/status',
  operationId: 'get_batch_status',
  summary: 'A batch’s counts (owner or admin; others get 404)',
  request: { params: BatchParam },
  responses: { 200: jsonResponse(BatchStatus, 'Batch status'), ...readProblems },
});
const destinationRoute = createRoute({
  ...base,
  method: 'get',
  path: '/{queue_id}/counts_by_destination',
  operationId: 'counts_by_destination',
  summary: 'Your items with this destination, by status',
  request: { params: QueueParam, query: DestinationQuery },
  responses: { 200: jsonResponse(DestinationCounts, 'Counts'), ...readProblems },
});

export const queueReadRouter = createRouter()
  .openapi(listRoute, async (c) => {
    const input = { queueId: c.req.valid('param').queue_id, query: c.req.valid('query') };
    return c.json(await listItems({ ctx: serviceContext(c), input }), 200);
  })
  .openapi(listAllRoute, async (c) => {
    const input = { queueId: c.req.valid('param').queue_id, query: c.req.valid('query') };
    // The declared `QueueItem[]`, serialized by the service, which keeps the body (`listAllItemsJson`); the
    // router types only `c.json`'s responses.
    const body = await listAllItemsJson({ ctx: serviceContext(c), input });
    return c.body(body, 200, { 'Content-Type': 'application/json' }) as never;
  })
  .openapi(itemRoute, async (c) => {
    const { queue_id, item_id } = c.req.valid('param');
    return c.json(
      await getItem({ ctx: serviceContext(c), input: { queueId: queue_id, itemId: item_id } }),
      200,
    );
  })
  .openapi(byIdsRoute, async (c) => {
    const input = { queueId: c.req.valid('param').queue_id, itemIds: c.req.valid('json').item_ids };
    return c.json(await getItemsByIds({ ctx: serviceContext(c), input }), 200);
  })
  .openapi(currentRoute, async (c) =>
    c.json(
      await getCurrentItem({ ctx: serviceContext(c), input: { queueId: c.req.valid('param').queue_id } }),
      200,
    ),
  )
  .openapi(nextRoute, async (c) =>
    c.json(
      await getNextItem({ ctx: serviceContext(c), input: { queueId: c.req.valid('param').queue_id } }),
      200,
    ),
  )
  .openapi(statusRoute, async (c) =>
    c.json(
      await getQueueStatus({ ctx: serviceContext(c), input: { queueId: c.req.valid('param').queue_id } }),
      200,
    ),
  )
  .openapi(batchStatusRoute, async (c) => {
    const { queue_id, batch_id } = c.req.valid('param');
    return c.json(
      await getBatchStatus({ ctx: serviceContext(c), input: { queueId: queue_id, batchId: batch_id } }),
      200,
    );
  })
  .openapi(destinationRoute, async (c) => {
    const input = { queueId: c.req.valid('param').queue_id, destination: c.req.valid('query').destination };
    return c.json(await getCountsByDestination({ ctx: serviceContext(c), input }), 200);
  });
