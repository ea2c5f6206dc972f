import { createRoute } from '@hono/zod-openapi';
import { bearer, createRouter, jsonBody, jsonResponse, problems } from '../../http/openapi.ts';
import { serviceContext } from '../../http/service-context.ts';
import { ItemIds, QueueItem } from '../../queue/schemas.ts';
import {
  cancelAllExceptCurrent,
  cancelByBatchIds,
  cancelItem,
  clearQueue,
  deleteItem,
  EnqueueBatchInput,
  enqueueBatch,
  pruneQueue,
  retryItems,
  setProcessorRunning,
  transferItemOwner,
} from '../../services/queue/index.ts';
import {
  BatchIdsInput,
  Canceled,
  Deleted,
  EnqueueResult,
  ItemParam,
  OwnerInput,
  ProcessorState,
  QueueParam,
  RetryResult,
} from './schemas.ts';

const tags = ['queue'];
const base = { tags, security: bearer };
const bodyProblems = problems(
  'bad_request',
  'validation_failed',
  'unauthorized',
  'not_found',
  'unsupported_media_type',
);
const ownProblems = problems('validation_failed', 'unauthorized', 'forbidden', 'not_found');
const adminProblems = problems('unauthorized', 'forbidden', 'not_found');

const enqueueRoute = createRoute({
  ...base,
  method: 'post',
  path: '/{queue_id}/enqueue_batch',
  operationId: 'enqueue_batch',
  summary: 'Enqueue a batch, whole or not at all',
  request: { params: QueueParam, body: jsonBody(EnqueueBatchInput) },
  responses: { 201: jsonResponse(EnqueueResult, 'Enqueued'), ...bodyProblems, ...problems('quota_exceeded') },
});
const cancelRoute = createRoute({
  ...base,
  method: 'put',
  path: '/{queue_id}/i/{item_id}/cancel',
  operationId: 'cancel_queue_item',
  summary: 'Cancel an item (owner or admin); a finished item comes back unchanged',
  request: { params: ItemParam },
  responses: { 200: jsonResponse(QueueItem, 'The item'), ...ownProblems },
});
const cancelBatchesRoute = createRoute({
  ...base,
  method: 'put',
  path: '/{queue_id}/cancel_by_batch_ids',
  operationId: 'cancel_by_batch_ids',
  summary: 'Cancel the items of these batches (yours; admins: all)',
  request: { params: QueueParam, body: jsonBody(BatchIdsInput) },
  responses: { 200: jsonResponse(Canceled, 'How many were canceled'), ...bodyProblems },
});
const cancelAllRoute = createRoute({
  ...base,
  method: 'put',
  path: '/{queue_id}/cancel_all_except_current',
  operationId: 'cancel_all_except_current',
  summary: 'Cancel every pending item (yours; admins: all)',
  request: { params: QueueParam },
  responses: { 200: jsonResponse(Canceled, 'How many were canceled'), ...ownProblems },
});
const retryRoute = createRoute({
  ...base,
  method: 'put',
  path: '/{queue_id}/retry_items_by_id',
  operationId: 'retry_items_by_id',
  summary: 'Retry failed or canceled items as new items (owner or admin)',
  request: { params: QueueParam, body: jsonBody(ItemIds) },
  responses: {
    200: jsonResponse(RetryResult, 'The retried and the new item ids'),
    ...bodyProblems,
    ...problems('forbidden', 'quota_exceeded'),
  },
});
const deleteRoute = createRoute({
  ...base,
  method: 'delete',
  path: '/{queue_id}/i/{item_id}',
  operationId: 'delete_queue_item',
  summary: 'Delete an item (owner or admin); an in-progress item is canceled first',
  request: { params: ItemParam },
  responses: { 204: { description: 'Deleted' }, ...ownProblems },
});
const pruneRoute = createRoute({
  ...base,
  method: 'put',
  path: '/{queue_id}/prune',
  operationId: 'prune',
  summary: 'Delete finished items (yours; admins: all)',
  request: { params: QueueParam },
  responses: { 200: jsonResponse(Deleted, 'How many were deleted'), ...ownProblems },
});
const clearRoute = createRoute({
  ...base,
  method: 'put',
  path: '/{queue_id}/clear',
  operationId: 'clear',
  summary: 'Delete every item, stopping the running one (admin)',
  request: { params: QueueParam },
  responses: { 200: jsonResponse(Deleted, 'How many were deleted'), ...adminProblems },
});
const ownerRoute = createRoute({
  ...base,
  method: 'put',
  path: '/{queue_id}/i/{item_id}/owner',
  operationId: 'set_queue_item_owner',
  summary: 'Give an item to another user (admin)',
  request: { params: ItemParam, body: jsonBody(OwnerInput) },
  responses: { 200: jsonResponse(QueueItem, 'The item'), ...bodyProblems, ...problems('forbidden') },
});
const processorRoute = (action: 'pause' | 'resume') =>
  createRoute({
    ...base,
    method: 'put',
    path: `/{queue_id}/processor/${action}`,
    operationId: `${action}_processor`,
    summary: action === 'pause' ? 'Pause: the running item finishes, none starts (admin)' : 'Resume (admin)',
    request: { params: QueueParam },
    responses: { 200: jsonResponse(ProcessorState, 'The processor state'), ...adminProblems },
  });

export const queueWriteRouter = createRouter()
  .openapi(enqueueRoute, async (c) => {
    const input = { queueId: c.req.valid('param').queue_id, body: c.req.valid('json') };
    return c.json(await enqueueBatch({ ctx: serviceContext(c), input }), 201);
  })
  .openapi(cancelRoute, async (c) => {
    const { queue_id, item_id } = c.req.valid('param');
    return c.json(
      await cancelItem({ ctx: serviceContext(c), input: { queueId: queue_id, itemId: item_id } }),
      200,
    );
  })
  .openapi(cancelBatchesRoute, async (c) => {
    const input = { queueId: c.req.valid('param').queue_id, batchIds: c.req.valid('json').batch_ids };
    return c.json(await cancelByBatchIds({ ctx: serviceContext(c), input }), 200);
  })
  .openapi(cancelAllRoute, async (c) =>
    c.json(
      await cancelAllExceptCurrent({
        ctx: serviceContext(c),
        input: { queueId: c.req.valid('param').queue_id },
      }),
      200,
    ),
  )
  .openapi(retryRoute, async (c) => {
    const input = { queueId: c.req.valid('param').queue_id, itemIds: c.req.valid('json') };
    return c.json(await retryItems({ ctx: serviceContext(c), input }), 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { queue_id, item_id } = c.req.valid('param');
    await deleteItem({ ctx: serviceContext(c), input: { queueId: queue_id, itemId: item_id } });
    return c.body(null, 204);
  })
  .openapi(pruneRoute, async (c) =>
    c.json(
      await pruneQueue({ ctx: serviceContext(c), input: { queueId: c.req.valid('param').queue_id } }),
      200,
    ),
  )
  .openapi(clearRoute, async (c) =>
    c.json(
      await clearQueue({ ctx: serviceContext(c), input: { queueId: c.req.valid('param').queue_id } }),
      200,
    ),
  )
  .openapi(ownerRoute, async (c) => {
    const { queue_id, item_id } = c.req.valid('param');
    const input = { queueId: queue_id, itemId: item_id, userId: c.req.valid('json').user_id };
    return c.json(await transferItemOwner({ ctx: serviceContext(c), input }), 200);
  })
  .openapi(processorRoute('pause'), async (c) =>
    c.json(
      await setProcessorRunning({
        ctx: serviceContext(c),
        input: { queueId: c.req.valid('param').queue_id, running: false },
      }),
      200,
    ),
  )
  .openapi(processorRoute('resume'), async (c) =>
    c.json(
      await setProcessorRunning({
        ctx: serviceContext(c),
        input: { queueId: c.req.valid('param').queue_id, running: true },
      }),
      200,
    ),
  );
