import { api, query } from '../lib/api.js';

/** @typedef {import('../lib/constants.js').QueueStatus} QueueStatus */

/** The one queue (API.md section 4). */
const Q = '/queue/default';

/**
 * A queue item. Another user's item comes `redacted`: its values, session and errors are null.
 * @typedef {object} QueueItem
 * @property {number} item_id
 * @property {QueueStatus} status
 * @property {string} user_id
 * @property {string | null} user_display_name
 * @property {string | null} user_email
 * @property {string} created_at
 * @property {{ graph?: { nodes?: Record<string, any> } } | null} session
 * @property {string | null} error_type
 * @property {string | null} error_message
 * @property {boolean} redacted
 */

/** @typedef {{ pending: number, in_progress: number, completed: number, failed: number, canceled: number, total: number }} Counts */

/**
 * @typedef {object} QueueStatusCounts the queue's counts, the caller's own, and the processor's state
 * @property {Counts & { queue_id: string, item_id: number | null }} queue
 * @property {Counts} mine
 * @property {{ is_started: boolean, is_processing: boolean }} processor
 */

/** @typedef {{ items: QueueItem[], has_more: boolean, next_cursor: string | null }} QueuePage */

/**
 * The items in the order of work, a page at a time.
 * @param {{ limit?: number, user?: 'me' | 'all', status?: QueueStatus | '', cursor?: string }} [params]
 * @returns {Promise<QueuePage>}
 */
export const listQueueItems = ({ limit, user, status, cursor } = {}) =>
  api('GET', `${Q}/list${query({ limit, user, status, cursor })}`);

/** @returns {Promise<QueueStatusCounts>} */
export const getQueueStatus = () => api('GET', `${Q}/status`);

/** @param {number} id @returns {Promise<QueueItem>} */
export const getQueueItem = (id) => api('GET', `${Q}/i/${id}`);

/**
 * @param {object} batch what `buildBatch` (web/lib/graph.js) makes
 * @returns {Promise<{ enqueued: number, requested: number, item_ids: number[] }>}
 */
export const enqueueBatch = (batch) => api('POST', `${Q}/enqueue_batch`, { json: { batch } });

/** @param {number} id @returns {Promise<QueueItem>} */
export const cancelItem = (id) => api('PUT', `${Q}/i/${id}/cancel`);

/**
 * Retries failed or canceled items as new items.
 * @param {number[]} ids
 * @returns {Promise<{ retried_item_ids: number[], item_ids: number[] }>}
 */
export const retryItems = (ids) => api('PUT', `${Q}/retry_items_by_id`, { json: ids });

/** @param {number} id @returns {Promise<null>} */
export const deleteItem = (id) => api('DELETE', `${Q}/i/${id}`);

/** Deletes every item, everyone's (admins). @returns {Promise<{ deleted: number }>} */
export const clearQueue = () => api('PUT', `${Q}/clear`);

/**
 * Pauses or resumes the processor (admins).
 * @param {'pause' | 'resume'} verb
 * @returns {Promise<{ is_started: boolean, is_processing: boolean }>}
 */
export const setProcessor = (verb) => api('PUT', `${Q}/processor/${verb}`);
