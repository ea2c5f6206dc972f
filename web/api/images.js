import { api, query } from '../lib/api.js';

/**
 * An image (API.md section 6); the URLs are signed, so they work in an `<img>`.
 * @typedef {object} Image
 * @property {string} image_name
 * @property {string} image_url
 * @property {string} thumbnail_url
 * @property {number} width
 * @property {number} height
 * @property {string | null} board_id
 * @property {string} user_id
 * @property {boolean} starred
 * @property {Record<string, unknown> | null} metadata the generation parameters
 * @property {string} created_at
 */

/** @typedef {{ items: Image[], offset: number, limit: number, total: number }} ImagePage */

/** @param {string} name */
const imagePath = (name) => `/images/i/${encodeURIComponent(name)}`;

/**
 * Your images (admins: `user_id: 'all'` for everyone's), newest first.
 * @param {{ board_id?: string | null, starred?: boolean, limit?: number, user_id?: string }} [params]
 *   `board_id` 'none': the uncategorized ones
 * @returns {Promise<ImagePage>}
 */
export const listImages = ({ board_id, starred, limit, user_id } = {}) =>
  api('GET', `/images${query({ board_id, starred: starred || undefined, limit, user_id })}`);

/** @param {string} name @returns {Promise<Image>} */
export const getImage = (name) => api('GET', imagePath(name));

/**
 * @param {string} name
 * @param {{ board_id?: string | null, starred?: boolean }} changes
 * @returns {Promise<Image>}
 */
export const updateImage = (name, changes) => api('PATCH', imagePath(name), { json: changes });

/** @param {string} name @returns {Promise<null>} */
export const deleteImage = (name) => api('DELETE', imagePath(name));

/**
 * Uploads a PNG, JPEG or WebP (stored as PNG) into a board, or uncategorized.
 * @param {File} file
 * @param {string | null} boardId
 * @returns {Promise<Image>}
 */
export function uploadImage(file, boardId) {
  const form = new FormData();
  form.set('file', file);
  if (boardId) {
    form.set('board_id', boardId);
  }
  return api('POST', '/images/upload', { form });
}
