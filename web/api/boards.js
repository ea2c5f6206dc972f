import { api, query } from '../lib/api.js';

/**
 * @typedef {object} Board
 * @property {string} board_id
 * @property {string} board_name
 * @property {string} user_id
 * @property {number} image_count
 * @property {string | null} cover_image_name
 * @property {string} created_at
 */

/**
 * Your boards (admins: `user_id: 'all'` for everyone's).
 * @param {{ user_id?: string }} [params]
 * @returns {Promise<Board[]>}
 */
export const listBoards = ({ user_id } = {}) => api('GET', `/boards${query({ user_id })}`);

/** @param {string} name @returns {Promise<Board>} */
export const createBoard = (name) => api('POST', '/boards', { json: { board_name: name } });

/** Deletes a board; its images become uncategorized. @param {string} id @returns {Promise<null>} */
export const deleteBoard = (id) => api('DELETE', `/boards/${encodeURIComponent(id)}`);
