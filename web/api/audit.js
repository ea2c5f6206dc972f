import { api, query } from '../lib/api.js';

/**
 * @typedef {object} AuditEntry
 * @property {string} id
 * @property {string} at
 * @property {string | null} actor_user_id
 * @property {import('../lib/constants.js').AuditAction} action
 * @property {string | null} target_type
 * @property {string | null} target_id
 * @property {Record<string, unknown> | null} details
 */

/**
 * The audit log, newest first (admins).
 * @param {{ user_id?: string, action?: string, limit?: number, cursor?: string | null }} params
 *   `user_id` filters by actor
 * @returns {Promise<{ items: AuditEntry[], next_cursor: string | null }>}
 */
export const listAuditEntries = ({ user_id, action, limit, cursor }) =>
  api('GET', `/audit${query({ user_id, action, limit, cursor })}`);
